// The developer sandbox (SANDBOX=true only): pages for registering apps, simulating launches with failure drills and
// inspecting tokens, the JSON launch endpoint for scripts, and the address the wrong-aud drill hands to apps.
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ClientMetadata } from 'oidc-provider';
import type { AuthServer } from '../auth/server.js';
import { SCOPES_SUPPORTED } from '../auth/server.js';
import { smartConfiguration } from '../auth/discovery.js';
import type { FhirService } from '../fhir/service.js';
import type { PortalAccountDirectory } from '../portal/account-directory.js';
import { DEMO_ACCOUNT_SPECS, DEMO_PASSWORD } from '../portal/demo-seed.js';
import { personRelationship } from '../portal/presenters.js';
import { relationshipText } from '../portal/views.js';
import { registerWebSecurity, setPageErrorHandler } from '../portal/web-security.js';
import type { AppLinkStore } from '../store/app-links.js';
import { appPages } from './app-pages.js';
import { AppRegistry } from './app-registry.js';
import { inspectorPage } from './inspector-page.js';
import { LaunchProblem, Launcher } from './launcher.js';
import { launchPages } from './launch-pages.js';
import { PatientDirectory } from './patient-directory.js';
import type { SandboxPageDeps } from './sandbox-deps.js';
import { renderHome, renderSandboxMessage } from './views.js';

export { LAUNCH_TTL_MS } from './launcher.js';

export interface SandboxOptions {
  readonly auth: AuthServer;
  readonly fhir: FhirService;
  readonly directory: PortalAccountDirectory;
  readonly appLinks: AppLinkStore;
  readonly publicUrl: string;
  readonly fhirBaseUrl: string;
  /** Demo apps and CLIENTS_FILE apps: listed, never edited */
  readonly staticClients: readonly ClientMetadata[];
  readonly cookieSecret: string;
  readonly secureCookies: boolean;
  readonly clock: () => number;
  /** Where the forms' rate limits are counted (shared by every instance) */
  readonly rateLimitStore: FastifyRateLimitStoreCtor;
}

/** Where the wrong-aud drill points apps: discovery answers there, but tokens are never issued for it. */
export const WRONG_AUD_PATH = '/sandbox/wrong-aud/fhir';

export async function sandboxPlugin(app: FastifyInstance, opts: SandboxOptions): Promise<void> {
  const { auth } = opts;
  const launcher = new Launcher({ provider: auth.provider, contexts: auth.contexts, fhir: opts.fhir, fhirBaseUrl: opts.fhirBaseUrl, wrongAudBaseUrl: `${opts.publicUrl}${WRONG_AUD_PATH}` });

  // For scripts and tests: {"patient", "client_id"?, "encounter"?} → a launch handle and the app's launch URL.
  app.post<{ Body: unknown }>('/sandbox/launch', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const problem = (msg: string) => reply.code(400).send({ error: 'invalid_request', error_description: msg });
    for (const k of ['patient', 'client_id', 'encounter'] as const) {
      if (body[k] !== undefined && typeof body[k] !== 'string') return problem(`${k} must be a string`);
    }
    try {
      const created = await launcher.create({
        patient: typeof body.patient === 'string' ? body.patient : '',
        ...(typeof body.client_id === 'string' ? { clientId: body.client_id } : {}),
        ...(typeof body.encounter === 'string' ? { encounter: body.encounter } : {}),
      });
      return reply.code(201).send({ launch: created.launch, launch_url: created.launchUrl ?? `?${created.query}`, iss: created.iss, expires_in: created.expiresIn });
    } catch (err) {
      if (err instanceof LaunchProblem) return problem(err.message);
      throw err;
    }
  });

  // The wrong-aud drill's iss: a discovery document like the real one, so an app proceeds to authorize with
  // aud = this address and meets the server's real refusal.
  const smart = JSON.stringify(smartConfiguration(auth.endpoints, SCOPES_SUPPORTED));
  app.get(`${WRONG_AUD_PATH}/.well-known/smart-configuration`, async (_req, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').header('access-control-allow-origin', '*').send(smart),
  );

  // The demo apps' terms and privacy policy, linked from the consent screen.
  const text = (reply: FastifyReply, body: string) => reply.type('text/plain; charset=utf-8').send(body);
  app.get('/sandbox/terms', async (_req, reply) =>
    text(reply, 'Terms of use of the sandbox demo apps\n\nThe demo apps exist to try the SMART sign-in and consent flow on synthetic patients. They keep nothing after you close them.\n'),
  );
  app.get('/sandbox/privacy', async (_req, reply) =>
    text(reply, 'Privacy policy of the sandbox demo apps\n\nThe demo apps read only the synthetic record you allow, show it back to you and store nothing.\n'),
  );

  const registry = new AppRegistry({ server: app, provider: auth.provider, models: auth.models, staticClients: opts.staticClients, deleteClient: (id) => auth.deleteClient(id) });
  const deps: SandboxPageDeps = {
    provider: auth.provider,
    contexts: auth.contexts,
    registry,
    launcher,
    patients: new PatientDirectory(opts.fhir),
    directory: opts.directory,
    appLinks: opts.appLinks,
    revokeGrant: (grantId) => auth.revokeGrant(grantId, { reason: 'sandbox-launch-page' }),
    tokenStatus: (token) => auth.tokenStatus(token),
    fhirBaseUrl: opts.fhirBaseUrl,
    smartConfigurationUrl: `${opts.fhirBaseUrl}/.well-known/smart-configuration`,
    openidConfigurationUrl: `${auth.endpoints.issuer}/.well-known/openid-configuration`,
    tokenEndpoint: auth.endpoints.token,
    clock: opts.clock,
    secureCookies: opts.secureCookies,
  };

  await app.register(async (web) => {
    await registerWebSecurity(web, { cookieSecret: opts.cookieSecret, secureCookies: opts.secureCookies, rateLimitStore: opts.rateLimitStore });
    // Developers get a page that says what happened: a stale form, too many posts, a fault of ours.
    const SANDBOX_TEXT = {
      'stale-form': ['This form is out of date', 'The form was open too long or was sent from another site (its CSRF token did not match). Go back, reload the page and try again.'],
      fault: ['Sorry', 'Something went wrong on our side; the error has been logged. Please try again.'],
    } as const;
    setPageErrorHandler(web, 'sandbox', (e) => {
      const [title, text] = e.kind === 'too-many' ? ['Please wait', e.message] : e.kind === 'refused' ? ['Cannot continue', e.message] : SANDBOX_TEXT[e.kind];
      return renderSandboxMessage({ title, text, tone: 'error', link: { href: '/sandbox', text: 'Sandbox home' } });
    });
    web.get('/sandbox', async (_req, reply) => reply.type('text/html; charset=utf-8').send(await home(deps, opts)));
    await appPages(web, deps);
    await launchPages(web, deps);
    await inspectorPage(web, deps);
  });
}

/** The home page's model: addresses, the demo accounts as the database has them now, every app. */
async function home(deps: SandboxPageDeps, opts: SandboxOptions): Promise<string> {
  const accounts = [];
  for (const spec of DEMO_ACCOUNT_SPECS) {
    const account = await deps.directory.findAccount(spec.username);
    if (!account) continue;
    const records =
      account.role === 'clinician'
        ? 'Any record (with user/ scopes), for EHR launches'
        : (await deps.directory.patientsFor(account.accountId)).map((p) => `${p.name} (${relationshipText(personRelationship(p.relationship)).toLowerCase()})`).join('; ') || 'None';
    accounts.push({ username: spec.username, name: account.name, role: account.role, records });
  }
  return renderHome({
    addresses: [
      { label: 'FHIR base URL (iss, aud)', value: opts.fhirBaseUrl },
      { label: 'SMART configuration', value: deps.smartConfigurationUrl },
      { label: 'OpenID configuration', value: deps.openidConfigurationUrl },
      { label: 'CapabilityStatement', value: `${opts.fhirBaseUrl}/metadata` },
      { label: 'Dynamic registration (RFC 7591)', value: opts.auth.endpoints.registration },
      { label: 'Token endpoint', value: deps.tokenEndpoint },
    ],
    demoPassword: DEMO_PASSWORD,
    accounts,
    apps: await deps.registry.list(),
  });
}
