// Statically declared OAuth clients: the sandbox's demo apps, plus any the operator lists in CLIENTS_FILE.
import { readFileSync } from 'node:fs';
import type { ClientMetadata } from 'oidc-provider';

export const DEMO_CLIENTS: readonly ClientMetadata[] = [
  {
    client_id: 'demo-patient-app',
    client_name: 'Demo Patient App',
    publisher: 'SMART sandbox',
    description: 'A sample app for trying the sign-in and consent flow; it reads your record and shows it back.',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://localhost:3000/callback', 'http://127.0.0.1:3000/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid fhirUser launch launch/patient offline_access online_access patient/*.rs patient/*.read',
    tos_uri: 'http://localhost:8080/sandbox/terms',
    policy_uri: 'http://localhost:8080/sandbox/privacy',
  },
  {
    client_id: 'demo-confidential-app',
    client_name: 'Demo Confidential App',
    publisher: 'SMART sandbox',
    description: 'A sample server-side app, for trying confidential clients.',
    client_secret: 'demo-confidential-app-secret-change-me',
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: ['http://localhost:3000/callback', 'http://127.0.0.1:3000/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  },
  {
    // The example app (`npm run example-app`, src/example-app/): a public client, so PKCE is its only proof.
    client_id: 'example-app',
    client_name: 'Example Lab Viewer',
    publisher: 'SMART sandbox',
    description: 'An example app for developers: shows your health problems, medicines and allergies, your lab results over time as graphs, your vital signs and immunizations.',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://localhost:8081/callback', 'http://127.0.0.1:8081/callback'],
    // Where the launch simulator opens it (an http loopback launch URL is kept as launch_uri, see registration.ts).
    initiate_login_uri: 'http://localhost:8081/launch',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope:
      'openid fhirUser launch launch/patient offline_access patient/Patient.rs patient/Condition.rs patient/Observation.rs patient/AllergyIntolerance.rs patient/MedicationRequest.rs patient/Medication.rs patient/MedicationStatement.rs patient/Immunization.rs',
    tos_uri: 'http://localhost:8080/sandbox/terms',
    policy_uri: 'http://localhost:8080/sandbox/privacy',
  },
  {
    // Backend services with a client secret: the quickest way for a developer to get a token with curl.
    client_id: 'demo-backend',
    client_name: 'Demo Backend Service',
    client_secret: 'demo-backend-secret-change-me',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    // The audit trail is reached only by a scope naming it (system/*.rs does not cover AuditEvent).
    scope: 'system/*.rs system/*.read system/AuditEvent.rs',
  },
];

/** Reads CLIENTS_FILE: a JSON array of client metadata (RFC 7591 names). Problems stop the start with a message. */
export function loadClientsFile(path: string): ClientMetadata[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`CLIENTS_FILE ${path} could not be read as JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.some((c) => typeof c !== 'object' || c === null || typeof (c as ClientMetadata).client_id !== 'string')) {
    throw new Error(`CLIENTS_FILE ${path} must hold a JSON array of client metadata objects, each with a client_id`);
  }
  return parsed as ClientMetadata[];
}
