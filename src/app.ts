// buildApp(deps): registers the plugins in a fixed order and never listens, so tests can inject or listen on port 0.
import Fastify, { type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { Config } from './config.js';
import { buildCapabilityStatement } from './fhir/capability.js';
import { fhirPlugin } from './fhir/plugin.js';
import { FhirService } from './fhir/service.js';
import type { Db } from './store/db.js';
import { ResourceStore } from './store/resources.js';

export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  /** Pino logger options; tests pass false */
  readonly logger?: boolean | object;
}

export interface App {
  readonly server: FastifyInstance;
  readonly fhir: FhirService;
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
  const capability = buildCapabilityStatement({ fhirBaseUrl: config.fhirBaseUrl, softwareVersion: pkg.version, date: started });

  await server.register(fhirPlugin, { prefix: '/fhir', service: fhir, capabilityStatement: () => capability });

  server.get('/healthz', async () => {
    await db.kysely.selectFrom('resources').select('rid').limit(1).execute();
    return { status: 'ok' };
  });
  server.get('/', async (_req, reply) =>
    reply.type('application/json').send({ name: 'smart-fhir-server', version: pkg.version, fhir: config.fhirBaseUrl, metadata: `${config.fhirBaseUrl}/metadata` }),
  );
  return { server, fhir };
}
