// Checks a resource sent for create/update: JSON shape, type and id against the URL, required elements, and the
// form of references, codes, dates and ids anywhere in it. Returns the issues; the caller decides the status.
import type { ResourceDef } from './definitions.js';
import { isFhirDate, isFhirDateTime, isFhirInstant } from './fhir-date.js';
import { badRequest, unprocessable, type Issue } from './outcome.js';
import { ID_PATTERN, parseReference } from './references.js';
import type { ResourceDocument } from '../store/resources.js';

type JsonObject = Record<string, unknown>;

const DATE_TIME_KEYS = /^(.+DateTime|recordedDate|dateAsserted|authoredOn|start|end|lastOccurrence|expirationDate)$/;
const DATE_KEYS = /^(birthDate)$/;
const INSTANT_KEYS = /^(issued|lastUpdated)$/;
const CODE_PATTERN = /^[^\s]+( [^\s]+)*$/;
// ContactPoint.system is a code (phone, email, ...), unlike Coding.system and Identifier.system, which are URIs.
const CONTACT_POINT_SYSTEMS = new Set(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']);

/** Parses and checks a request body; throws 400 for the wrong shape or type, 422 for content problems. */
export function validateResource(def: ResourceDef, body: unknown, urlId?: string): ResourceDocument {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest(`The body must be a FHIR ${def.type} resource as a JSON object`);
  }
  const res = body as JsonObject;
  if (res.resourceType !== def.type) {
    throw badRequest(
      typeof res.resourceType === 'string'
        ? `resourceType "${res.resourceType}" does not match the URL, which expects ${def.type}`
        : `The body has no resourceType; expected "${def.type}"`,
      ['resourceType'],
    );
  }
  if (urlId !== undefined) {
    if (res.id === undefined) throw badRequest(`The resource must carry its id ("${urlId}") on update`, [`${def.type}.id`]);
    if (res.id !== urlId) throw badRequest(`The resource id "${String(res.id)}" does not match the id in the URL ("${urlId}")`, [`${def.type}.id`]);
  }
  const issues: Issue[] = [];
  const add = (path: string, diagnostics: string) => issues.push({ severity: 'error', code: 'invalid', diagnostics, expression: [path] });

  for (const alternatives of def.required) {
    if (!alternatives.some((k) => res[k] !== undefined)) {
      const what = alternatives.length > 1 ? `one of ${alternatives.map((a) => `${def.type}.${a}`).join(', ')}` : `${def.type}.${alternatives[0]}`;
      issues.push({ severity: 'error', code: 'required', diagnostics: `${what} is required`, expression: [`${def.type}.${alternatives[0]}`] });
    }
  }
  for (const [key, allowed] of Object.entries(def.codes ?? {})) {
    const values = Array.isArray(res[key]) ? (res[key] as unknown[]) : res[key] === undefined ? [] : [res[key]];
    for (const v of values) {
      if (typeof v !== 'string' || !allowed.includes(v)) add(`${def.type}.${key}`, `${def.type}.${key} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
    }
  }
  walk(res, def.type, add, true);
  if (issues.length) throw unprocessable(issues);
  return res as ResourceDocument;
}

function walk(value: unknown, path: string, add: (path: string, msg: string) => void, isRoot = false): void {
  if (value === null) return add(path, `${path} is null; FHIR JSON leaves out absent elements instead`);
  if (Array.isArray(value)) {
    if (value.length === 0) add(path, `${path} is an empty array; leave the element out instead`);
    value.forEach((v, i) => walk(v, `${path}[${i}]`, add));
    return;
  }
  if (typeof value === 'string') {
    if (value.trim() === '' && !path.endsWith('.div')) add(path, `${path} is an empty string`);
    return;
  }
  if (typeof value !== 'object') return;
  const obj = value as JsonObject;
  if (!isRoot && Object.keys(obj).length === 0) add(path, `${path} is an empty object`);
  for (const [key, v] of Object.entries(obj)) {
    const p = `${path}.${key}`;
    if (typeof v === 'string') {
      if (key === 'reference' && !parseReference(v, 'http://invalid.invalid')) add(p, `${p} "${v}" is not a valid reference (Type/id, an absolute URL, #contained or urn:uuid)`);
      else if (key === 'id' && !ID_PATTERN.test(v)) add(p, `${p} "${v}" is not a valid id (1-64 letters, digits, '-' and '.')`);
      else if (DATE_TIME_KEYS.test(key) && !isFhirDateTime(v)) add(p, `${p} "${v}" is not a valid FHIR dateTime`);
      else if (DATE_KEYS.test(key) && !isFhirDate(v)) add(p, `${p} "${v}" is not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)`);
      else if (INSTANT_KEYS.test(key) && !isFhirInstant(v)) add(p, `${p} "${v}" is not a valid FHIR instant`);
      else if (key === 'system' && !/^\S+:\S*$/.test(v) && !(CONTACT_POINT_SYSTEMS.has(v) && obj.code === undefined)) add(p, `${p} "${v}" is not an absolute URI`);
      else if (key === 'code' && !CODE_PATTERN.test(v)) add(p, `${p} "${v}" is not a valid code (no leading, trailing or repeated spaces)`);
    }
    if (key === 'contained' && Array.isArray(v)) {
      v.forEach((c, i) => {
        if (!c || typeof c !== 'object' || typeof (c as JsonObject).resourceType !== 'string' || typeof (c as JsonObject).id !== 'string') {
          add(`${p}[${i}]`, `${p}[${i}] must be a resource with a resourceType and an id`);
        }
      });
    }
    walk(v, p, add);
  }
}
