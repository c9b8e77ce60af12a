// Every limit on what one request may ask of the server, in one place: the README's "Limits" section lists these
// numbers and what a client gets when it crosses each. Each one bounds memory or work per request, so no input can
// take the process down or hold it up; they are far above what a real client sends.

const KiB = 1024;
const MiB = 1024 * KiB;

export const LIMITS = Object.freeze({
  /** Request line plus headers: 431 beyond */
  headerBytes: 16 * KiB,
  /**
   * Where Node's HTTP parser itself stops reading a request line and headers (its maxHeaderSize): 431. Above
   * headerBytes so that the request is normally read whole and refused by the server in the words of the area it was
   * for; past this the bytes that overflowed may not include the path, and the answer is plain JSON.
   */
  parserHeaderBytes: 64 * KiB,
  /** Path plus query string: 414 beyond (POST /fhir/[type]/_search takes long searches as a form) */
  urlBytes: 8 * KiB,
  /** One path segment (an id, a client id): a longer one matches no route, 404 (Fastify's maxParamLength) */
  pathSegmentChars: 200,
  /** Query parameters, repeats counted; for FHIR search and operations the form or Parameters body's count too: 400 */
  parameters: 100,
  /** Comma-separated values (OR) in one search parameter: 400 beyond */
  orValues: 100,
  /** FHIR JSON bodies (create, update, Parameters for operations and $export): 413 beyond */
  fhirJsonBodyBytes: 10 * MiB,
  /** Nesting of objects and arrays in a FHIR JSON body: 400 beyond (R4 resources nest far less) */
  fhirJsonDepth: 100,
  /** Every other body: FHIR _search forms, portal and sandbox forms, the sandbox's JSON launch endpoint: 413 beyond */
  formBodyBytes: 64 * KiB,
  /**
   * oidc-provider's own limit on the OAuth endpoints' bodies (token, introspection, revocation, registration), fixed in
   * the library: invalid_request beyond. Stated here so the README has every number in one place.
   */
  oauthBodyBytes: 56 * KiB,
  /** `_count` of a search, history or $everything page: a larger value is lowered to this (FHIR lets a server send fewer) */
  maxCount: 1000,
  /** `_include` plus `_revinclude` values in one search: 400 beyond. Includes are one level deep (`:iterate` is not followed) */
  includes: 10,
  /** Default for REQUEST_TIMEOUT_SECONDS: a request whose headers and body have not all arrived by then is answered 408 */
  requestTimeoutSeconds: 30,
});
