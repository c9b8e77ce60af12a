// The EHR side of a simulated launch: a single-use launch handle bound to a patient (and optionally an app, an
// encounter and the simulator's options), and the URL that opens the app with `iss` and `launch`.
import { randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import { launchUriOf } from '../auth/registration.js';
import type { FhirService } from '../fhir/service.js';
import type { LaunchOptions, SmartContextStore, StoredLaunch } from '../store/smart-context.js';

export const LAUNCH_TTL_MS = 5 * 60_000;

/** A launch request that cannot be served, naming the field to fix. */
export class LaunchProblem extends Error {
  constructor(
    readonly field: 'patient' | 'client_id' | 'encounter',
    message: string,
  ) {
    super(message);
    this.name = 'LaunchProblem';
  }
}

export interface LaunchRequest {
  readonly patient: string;
  readonly clientId?: string;
  readonly encounter?: string;
  readonly options?: LaunchOptions;
  /** The wrong-aud drill: the app is handed an `iss` that answers discovery but is not the token audience */
  readonly wrongAud?: boolean;
}

export interface LaunchCreated {
  readonly launch: string;
  /** The app's launch URL (initiate_login_uri) with iss and launch; absent when the app registered none */
  readonly launchUrl?: string;
  /** `iss=…&launch=…`, for apps without a registered launch URL */
  readonly query: string;
  readonly iss: string;
  readonly expiresIn: number;
}

export interface LauncherDeps {
  readonly provider: Provider;
  readonly contexts: SmartContextStore;
  readonly fhir: FhirService;
  readonly fhirBaseUrl: string;
  /** An address that serves the same discovery document but is not the FHIR server's base (the wrong-aud drill) */
  readonly wrongAudBaseUrl: string;
}

export class Launcher {
  constructor(private readonly deps: LauncherDeps) {}

  async create(req: LaunchRequest): Promise<LaunchCreated> {
    if (!req.patient) throw new LaunchProblem('patient', 'patient (a Patient id) is required');
    try {
      await this.deps.fhir.read('Patient', req.patient);
    } catch {
      throw new LaunchProblem('patient', `Patient/${req.patient} does not exist`);
    }
    const client = req.clientId !== undefined ? await this.deps.provider.Client.find(req.clientId) : undefined;
    if (req.clientId !== undefined && !client) throw new LaunchProblem('client_id', `client ${req.clientId} is not registered`);
    if (req.encounter !== undefined) await this.#checkEncounter(req.patient, req.encounter);
    const launch = randomBytes(24).toString('base64url');
    const stored = {
      id: launch,
      patient: req.patient,
      encounter: req.encounter ?? null,
      clientId: client?.clientId ?? null,
      expiresAt: Date.now() + LAUNCH_TTL_MS,
      ...(req.options ? { options: { ...req.options, ...(req.wrongAud ? { drill: 'wrong-aud' } : {}) } } : req.wrongAud ? { options: { drill: 'wrong-aud' } } : {}),
    };
    await this.deps.contexts.createLaunch(stored);
    return { launch, expiresIn: LAUNCH_TTL_MS / 1000, ...(await this.urls(stored)) };
  }

  // An app handed an encounter reads Encounter/{id} next (Inferno does): it must exist and be one of the patient's
  // visits, or the launch would promise a context the API then denies.
  async #checkEncounter(patient: string, encounter: string): Promise<void> {
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(encounter)) throw new LaunchProblem('encounter', 'encounter must be an Encounter id (letters, digits, - and ., at most 64)');
    const row = await this.deps.fhir.store.read('Encounter', encounter);
    if (row && !row.deleted && row.patientId === patient) return;
    const { page } = await this.deps.fhir.search('Encounter', [['patient', patient], ['_sort', '-date'], ['_count', '3']], { strict: true });
    const recent = page.rows.map((r) => r.id);
    throw new LaunchProblem(
      'encounter',
      `Encounter/${encounter} is not one of Patient/${patient}'s visits${recent.length ? `; the most recent are ${recent.join(', ')}` : '; this patient has no encounters, so leave it empty'}`,
    );
  }

  /** The `iss` an app is handed for a launch and the URL that opens the app with it. */
  async urls(launch: Pick<StoredLaunch, 'id' | 'clientId' | 'options'>): Promise<{ iss: string; query: string; launchUrl?: string }> {
    const iss = launch.options?.drill === 'wrong-aud' ? this.deps.wrongAudBaseUrl : this.deps.fhirBaseUrl;
    const query = `iss=${encodeURIComponent(iss)}&launch=${launch.id}`;
    const client = launch.clientId ? await this.deps.provider.Client.find(launch.clientId) : undefined;
    const base = client ? launchUriOf(client.metadata() as Record<string, unknown>) : undefined;
    return { iss, query, ...(base ? { launchUrl: `${base}${base.includes('?') ? '&' : '?'}${query}` } : {}) };
  }

  find(launch: string): Promise<StoredLaunch | undefined> {
    return this.deps.contexts.findLaunch(launch);
  }
}
