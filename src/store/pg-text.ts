// PostgreSQL's text cannot hold U+0000: a string parameter carrying one fails its whole statement ("invalid byte
// sequence for encoding UTF8: 0x00"), and input can carry one anywhere (a URL's %00, a search value, a form field, a
// resource's string). The connections the pool makes send every string parameter with U+0000 replaced by U+FFFD, so
// such input is stored and matched as that character instead of failing the request with a 500.
import pg from 'pg';

const clean = (v: unknown): unknown => (typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v);
const cleanAll = (values: unknown): unknown => (Array.isArray(values) ? values.map(clean) : values);
const isPlainObject = (v: unknown): v is { values?: unknown } => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** pg.Client whose query() cleans its parameters: pass as the Pool's `Client`. */
export class NulSafeClient extends pg.Client {}

const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
NulSafeClient.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  // query(text, values, ...) or query({ text, values, ... }); a Submittable (a cursor) is passed on as it is.
  if (Array.isArray(args[1])) args[1] = cleanAll(args[1]);
  else if (isPlainObject(args[0]) && args[0].values !== undefined) args[0] = { ...args[0], values: cleanAll(args[0].values) };
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;
