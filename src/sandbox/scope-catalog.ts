// The scopes a developer can tick on the registration form, each with a plain explanation. Resource scopes follow
// the served types (src/fhir/definitions.ts), so a new type appears here without a change to this file.
import { US_CORE_TYPE_NAMES } from '../fhir/definitions.js';
import { OBSERVATION_CATEGORY_SYSTEM } from '../portal/permissions.js';

export interface ScopeChoice {
  readonly scope: string;
  readonly explanation: string;
  /** Which kind of client may use it: user-facing apps, backend services, or both */
  readonly for: 'apps' | 'backend';
}

export interface ScopeSection {
  readonly title: string;
  readonly choices: readonly ScopeChoice[];
}

const app = (scope: string, explanation: string): ScopeChoice => ({ scope, explanation, for: 'apps' });

export function scopeCatalog(): readonly ScopeSection[] {
  const types = US_CORE_TYPE_NAMES;
  return [
    {
      title: 'Who is using the app',
      choices: [
        app('openid', 'Sign the user in with OpenID Connect: the token response includes an id_token.'),
        app('fhirUser', 'The id_token names the user as a FHIR resource (Patient/…, Practitioner/…). Needs openid.'),
        app('profile', "The id_token carries the user's name. Needs openid."),
      ],
    },
    {
      title: 'Launch context',
      choices: [
        app('launch', 'EHR launch: the EHR (here, the launch simulator) tells the app which patient is open.'),
        app('launch/patient', 'Standalone launch: the user picks whose record after signing in; the token response names the patient.'),
        app('launch/encounter', 'The token response names the encounter open in the EHR, when there is one.'),
      ],
    },
    {
      title: 'How long access lasts',
      choices: [
        app('offline_access', 'A refresh token that keeps working after the user leaves (the patient chooses for how long).'),
        app('online_access', 'A refresh token that works only while the user is signed in.'),
      ],
    },
    {
      title: "The patient's record (patient/ scopes: only the patient in context)",
      choices: [
        app('patient/*.rs', 'Read and search every kind of data in the record.'),
        ...types.map((t) => app(`patient/${t}.rs`, `Read and search ${t} resources of the patient.`)),
        app(`patient/Observation.rs?category=${OBSERVATION_CATEGORY_SYSTEM}|laboratory`, 'Only lab results (a SMART v2 granular scope).'),
        app(`patient/Observation.rs?category=${OBSERVATION_CATEGORY_SYSTEM}|vital-signs`, 'Only vital signs (a SMART v2 granular scope).'),
        app('patient/*.read', 'SMART v1 spelling of read and search everything, for older apps.'),
      ],
    },
    {
      title: "The user's records (user/ scopes: everything the signed-in user may see)",
      choices: [app('user/*.rs', "Read and search every record the user may see: their own and those they hold proxy access for (a clinician: all).")],
    },
    {
      title: 'Backend services (system/ scopes: client_credentials only, no user)',
      choices: [
        { scope: 'system/*.rs', explanation: 'Read and search every record on the server, as a service without a user.', for: 'backend' },
        ...types.map((t): ScopeChoice => ({ scope: `system/${t}.rs`, explanation: `Read and search all ${t} resources.`, for: 'backend' })),
      ],
    },
  ];
}
