// SMART discovery (/.well-known/smart-configuration) and the CapabilityStatement security section, both built
// from the provider's own endpoint URLs so they can never disagree with what it serves.
import type { CapabilityStatementRestSecurity } from 'fhir/r4.js';

export interface Endpoints {
  readonly issuer: string;
  readonly authorization: string;
  readonly token: string;
  readonly jwks: string;
  readonly introspection: string;
  readonly revocation: string;
  readonly registration: string;
  readonly management: string;
}

export const endpointsFor = (issuer: string): Endpoints => ({
  issuer,
  authorization: `${issuer}/auth`,
  token: `${issuer}/token`,
  jwks: `${issuer}/jwks`,
  introspection: `${issuer}/token/introspection`,
  revocation: `${issuer}/token/revocation`,
  registration: `${issuer}/reg`,
  // The portal sits beside the issuer (PUBLIC_URL/portal, issuer PUBLIC_URL/auth); resolved, as SMART wants every URL here absolute.
  management: new URL('../portal/apps', `${issuer}/`).href,
});

export const CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'client-public',
  'client-confidential-symmetric',
  'client-confidential-asymmetric',
  'context-passthrough-banner',
  'context-passthrough-style',
  'context-ehr-patient',
  // EHR launches (the sandbox simulator) can carry an Encounter, now served with US Core search.
  'context-ehr-encounter',
  'context-standalone-patient',
  'permission-offline',
  'permission-online',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
  'sso-openid-connect',
  'authorize-post',
] as const;

export function smartConfiguration(e: Endpoints, scopesSupported: readonly string[]) {
  return {
    issuer: e.issuer,
    jwks_uri: e.jwks,
    authorization_endpoint: e.authorization,
    token_endpoint: e.token,
    introspection_endpoint: e.introspection,
    revocation_endpoint: e.revocation,
    registration_endpoint: e.registration,
    management_endpoint: e.management,
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'RS256', 'ES256'],
    scopes_supported: scopesSupported,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [...CAPABILITIES],
  };
}

export function capabilitySecurity(e: Endpoints): CapabilityStatementRestSecurity {
  return {
    cors: true,
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)' }],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'token', valueUri: e.token },
          { url: 'authorize', valueUri: e.authorization },
          { url: 'introspect', valueUri: e.introspection },
          { url: 'revoke', valueUri: e.revocation },
          { url: 'register', valueUri: e.registration },
          { url: 'manage', valueUri: e.management },
        ],
      },
    ],
  };
}
