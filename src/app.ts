// buildApp(deps): registers the plugins in a fixed order and never listens, so tests can inject or listen on port 0.
import Fastify, { type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { Config } from './config.js';
import { buildCapabilityStatement } from './fhir/capability.js';
import { fhirPlugin } from './fhir/plugin.js';
import { FhirService } from './fhir/service.js';
import type { Db } from './store/db.js';
import { ResourceStore } from './store/resources.js';
import { createAuthServer, type AuthServer } from './auth/server.js';
import { DemoAccountDirectory } from './portal/demo-accounts.js';
import { interactionPlugin } from './portal/interaction.js';
import { sandboxPlugin } from './sandbox/plugin.js';

export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  /** Pino logger options; tests pass false */
  readonly logger?: boolean | object;
  /** Serve the FHIR API without authorization (tests of the facade alone); never set by the server itself */
  readonly openFhir?: boolean;
}

export interface App {
  readonly server: FastifyInstance;
  readonly fhir: FhirService;
  /** Absent when openFhir */
  readonly auth?: AuthServer;
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, db } = deps;
  const server = Fastify({
    logger: deps.logger ?? { level: config.logLevel },
    routerOptions: { maxParamLength: 200 },
    trustProxy: false,
  });
  const fhir = new FhirService(new ResourceStore(db), config.fhirBaseUrl);
  const started = new Date().toISOString();
  const accounts = new DemoAccountDirectory(config.sandbox);
  const auth = deps.openFhir ? undefined : await createAuthServer(server, { config, db, accounts });
  const capability = buildCapabilityStatement({
    fhirBaseUrl: config.fhirBaseUrl,
    softwareVersion: pkg.version,
    date: started,
    ...(auth ? { security: auth.security } : {}),
  });

  await server.register(fhirPlugin, {
    prefix: '/fhir',
    service: fhir,
    capabilityStatement: () => capability,
    ...(auth ? { auth: { resolve: (token: string) => auth.resolver.resolve(token), userPatients: (g) => accounts.userPatients(g.accountId) } } : {}),
  });
  if (auth) {
    const smartStyleUrl = `${config.publicUrl}/smart-style.json`;
    await server.register(interactionPlugin, { provider: auth.provider, accounts, contexts: auth.contexts, smartStyleUrl });
    if (config.sandbox) await server.register(sandboxPlugin, { provider: auth.provider, contexts: auth.contexts, fhir, fhirBaseUrl: config.fhirBaseUrl });
    // SMART context-passthrough-style: colours and fonts an embedded app can use to match us.
    server.get('/smart-style.json', async (_req, reply) =>
      reply.header('access-control-allow-origin', '*').send({
        color_background: '#ffffff',
        color_error: '#b00020',
        color_highlight: '#005ea2',
        color_modal_backdrop: 'rgba(0,0,0,0.5)',
        color_success: '#2e7d32',
        color_text: '#1b1b1b',
        dim_border_radius: '4px',
        dim_font_size: '16px',
        dim_spacing_size: '16px',
        font_family_body: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        font_family_heading: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
      }),
    );
  }

  server.get('/healthz', async () => {
    await db.kysely.selectFrom('resources').select('rid').limit(1).execute();
    return { status: 'ok' };
  });
  server.get('/', async (_req, reply) =>
    reply.type('application/json').send({ name: 'smart-fhir-server', version: pkg.version, fhir: config.fhirBaseUrl, metadata: `${config.fhirBaseUrl}/metadata` }),
  );
  return { server, fhir, ...(auth ? { auth } : {}) };
}
