// Developer sandbox endpoints (SANDBOX=true): simulate an EHR launch for a patient and an app.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type Provider from 'oidc-provider';
import type { SmartContextStore } from '../store/smart-context.js';
import type { FhirService } from '../fhir/service.js';

export interface SandboxOptions {
  readonly provider: Provider;
  readonly contexts: SmartContextStore;
  readonly fhir: FhirService;
  readonly fhirBaseUrl: string;
}

export const LAUNCH_TTL_MS = 5 * 60_000;

export async function sandboxPlugin(app: FastifyInstance, opts: SandboxOptions): Promise<void> {
  app.post<{ Body: unknown }>('/sandbox/launch', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const problem = (msg: string) => reply.code(400).send({ error: 'invalid_request', error_description: msg });
    if (typeof body.patient !== 'string' || !body.patient) return problem('patient (a Patient id) is required');
    if (body.client_id !== undefined && typeof body.client_id !== 'string') return problem('client_id must be a string');
    if (body.encounter !== undefined && typeof body.encounter !== 'string') return problem('encounter must be a string');
    try {
      await opts.fhir.read('Patient', body.patient);
    } catch {
      return problem(`Patient/${body.patient} does not exist`);
    }
    const client = typeof body.client_id === 'string' ? await opts.provider.Client.find(body.client_id) : undefined;
    if (body.client_id !== undefined && !client) return problem(`client ${String(body.client_id)} is not registered`);
    const launch = randomBytes(24).toString('base64url');
    await opts.contexts.createLaunch({
      id: launch,
      patient: body.patient,
      encounter: typeof body.encounter === 'string' ? body.encounter : null,
      clientId: client?.clientId ?? null,
      expiresAt: Date.now() + LAUNCH_TTL_MS,
    });
    const query = `iss=${encodeURIComponent(opts.fhirBaseUrl)}&launch=${launch}`;
    const base = (client?.metadata() as { initiate_login_uri?: string } | undefined)?.initiate_login_uri;
    return reply.code(201).send({ launch, launch_url: base ? `${base}${base.includes('?') ? '&' : '?'}${query}` : `?${query}`, expires_in: LAUNCH_TTL_MS / 1000 });
  });

  // The demo apps' terms and privacy policy, linked from the consent screen.
  const text = (reply: FastifyReply, body: string) => reply.type('text/plain; charset=utf-8').send(body);
  app.get('/sandbox/terms', async (_req, reply) =>
    text(reply, 'Terms of use of the sandbox demo apps\n\nThe demo apps exist to try the SMART sign-in and consent flow on synthetic patients. They keep nothing after you close them.\n'),
  );
  app.get('/sandbox/privacy', async (_req, reply) =>
    text(reply, 'Privacy policy of the sandbox demo apps\n\nThe demo apps read only the synthetic record you allow, show it back to you and store nothing.\n'),
  );
}
