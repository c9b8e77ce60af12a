// The scopes the SMART configuration advertises, from the served types: wildcards, one patient/ and user/ scope per
// US Core type, and the granular category scopes US Core 6.1 names (which ONC's g(10) tests ask for verbatim).
// system/Group.rs is there for Bulk Data's Group/[id]/$export, which reads the Group's members; system/AuditEvent.rs
// for the audit trail, which no wildcard reaches.
// Advertising is a hint to app developers, not a limit: any well-formed scope for a served type is accepted.
import { US_CORE_TYPE_NAMES } from '../fhir/definitions.js';

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const US_CORE_CATEGORY = 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category';
const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
const US_CORE_CONDITION_CATEGORY = 'http://hl7.org/fhir/us/core/CodeSystem/condition-category';

export const GRANULAR_SCOPES: readonly string[] = [
  `patient/Condition.rs?category=${CONDITION_CATEGORY}|encounter-diagnosis`,
  `patient/Condition.rs?category=${CONDITION_CATEGORY}|problem-list-item`,
  `patient/Condition.rs?category=${US_CORE_CONDITION_CATEGORY}|health-concern`,
  ...['laboratory', 'vital-signs', 'social-history', 'survey', 'imaging', 'procedure', 'exam', 'therapy', 'activity'].map((c) => `patient/Observation.rs?category=${OBSERVATION_CATEGORY}|${c}`),
  `patient/Observation.rs?category=${US_CORE_CATEGORY}|sdoh`,
  `patient/Observation.rs?category=${US_CORE_CATEGORY}|functional-status`,
  `patient/Observation.rs?category=${US_CORE_CATEGORY}|disability-status`,
  `patient/Observation.rs?category=${US_CORE_CATEGORY}|cognitive-status`,
];

export function resourceScopesSupported(): string[] {
  const wildcards = ['patient/*.rs', 'patient/*.read', 'user/*.rs', 'user/*.cruds', 'user/*.read', 'user/*.write', 'system/*.rs', 'system/*.read', 'system/Group.rs', 'system/AuditEvent.rs'];
  const perType = US_CORE_TYPE_NAMES.flatMap((t) => [`patient/${t}.rs`, `user/${t}.rs`, `system/${t}.rs`]);
  return [...wildcards, ...perType, ...GRANULAR_SCOPES];
}
