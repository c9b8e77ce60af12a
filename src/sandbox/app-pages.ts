// Register an app, list, edit and delete apps: pages over the server's own registration endpoint (see app-registry.ts).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { formFromApp, type AppForm } from './app-registry.js';
import { formRateLimit, type SandboxPageDeps } from './sandbox-deps.js';
import { scopeCatalog } from './scope-catalog.js';
import { renderAppForm, renderAppPage, renderApps, renderSandboxMessage } from './views.js';

type Form = Record<string, string | string[] | undefined>;
type IdParams = { id: string };

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));
const many = (v: string | string[] | undefined) => (Array.isArray(v) ? v : v ? [v] : []);

export function appFormFrom(body: Form): AppForm {
  return {
    name: one(body.name),
    description: one(body.description),
    publisher: one(body.publisher),
    logoUri: one(body.logoUri),
    tosUri: one(body.tosUri),
    policyUri: one(body.policyUri),
    redirectUris: one(body.redirectUris),
    launchUri: one(body.launchUri),
    kind: one(body.kind),
    jwks: one(body.jwks),
    jwksUri: one(body.jwksUri),
    scopes: many(body.scopes),
    scopeText: one(body.scopeText),
  };
}

/** What a new app starts with: a public patient-facing app asking for the usual standalone-launch scopes. */
const NEW_APP: AppForm = {
  name: '',
  description: '',
  publisher: '',
  logoUri: '',
  tosUri: '',
  policyUri: '',
  redirectUris: '',
  launchUri: '',
  kind: 'public',
  jwks: '',
  jwksUri: '',
  scopes: ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'patient/*.rs'],
  scopeText: '',
};

export async function appPages(app: FastifyInstance, deps: SandboxPageDeps): Promise<void> {
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);
  const notFound = (reply: FastifyReply, id: string) =>
    html(reply, 404, renderSandboxMessage({ title: 'No such app', text: `No app with client_id ${id} is registered here.`, tone: 'error', link: { href: '/sandbox/apps', text: 'All apps' } }));
  const page = (csrfToken: string, a: Parameters<typeof renderAppPage>[0]['app'], extra: { secret?: string; notice?: string } = {}) =>
    renderAppPage({ csrfToken, app: a, fhirBaseUrl: deps.fhirBaseUrl, smartConfigurationUrl: deps.smartConfigurationUrl, tokenEndpoint: deps.tokenEndpoint, ...extra });

  app.get<{ Querystring: { deleted?: string } }>('/sandbox/apps', async (req, reply) => {
    // A fixed sentence: text from the query string is not echoed, so a crafted link cannot put words on the page.
    const notice = req.query.deleted === '1' ? 'The app was deleted; its grants and tokens no longer work.' : undefined;
    return html(reply, 200, renderApps({ apps: await deps.registry.list(), ...(notice ? { notice } : {}) }));
  });

  app.get('/sandbox/apps/new', async (_req, reply) =>
    html(reply, 200, renderAppForm({ csrfToken: reply.generateCsrf(), action: '/sandbox/apps', heading: 'Register an app', submit: 'Register', cancel: '/sandbox/apps', values: NEW_APP, errors: {}, catalog: scopeCatalog() })),
  );

  app.post<{ Body: Form }>('/sandbox/apps', { preHandler: app.csrfProtection, config: formRateLimit }, async (req, reply) => {
    const form = appFormFrom(req.body ?? {});
    const outcome = await deps.registry.register(form);
    if (!outcome.ok) {
      return html(reply, 400, renderAppForm({ csrfToken: reply.generateCsrf(), action: '/sandbox/apps', heading: 'Register an app', submit: 'Register', cancel: '/sandbox/apps', values: form, errors: outcome.errors, catalog: scopeCatalog() }));
    }
    const { app: registered, clientSecret } = outcome.result;
    return html(reply, 201, page(reply.generateCsrf(), registered, { notice: `${registered.name} is registered.`, ...(clientSecret ? { secret: clientSecret } : {}) }));
  });

  app.get<{ Params: IdParams }>('/sandbox/apps/:id', async (req, reply) => {
    const found = await deps.registry.find(req.params.id);
    if (!found) return notFound(reply, req.params.id);
    return html(reply, 200, page(reply.generateCsrf(), found));
  });

  app.get<{ Params: IdParams }>('/sandbox/apps/:id/edit', async (req, reply) => {
    const found = await deps.registry.find(req.params.id);
    if (!found) return notFound(reply, req.params.id);
    if (!found.editable) return html(reply, 403, renderSandboxMessage({ title: 'Built-in app', text: `${found.name} is a built-in app: it cannot be edited here.`, tone: 'error', link: { href: `/sandbox/apps/${encodeURIComponent(found.clientId)}`, text: 'Back to the app' } }));
    const action = `/sandbox/apps/${encodeURIComponent(found.clientId)}`;
    return html(reply, 200, renderAppForm({ csrfToken: reply.generateCsrf(), action, heading: `Edit ${found.name}`, submit: 'Save changes', cancel: action, values: formFromApp(found), errors: {}, catalog: scopeCatalog(), kindFixed: true }));
  });

  app.post<{ Params: IdParams; Body: Form }>('/sandbox/apps/:id', { preHandler: app.csrfProtection, config: formRateLimit }, async (req, reply) => {
    const found = await deps.registry.find(req.params.id);
    if (!found) return notFound(reply, req.params.id);
    const form = { ...appFormFrom(req.body ?? {}), kind: found.kind };
    const outcome = await deps.registry.update(found.clientId, form);
    const action = `/sandbox/apps/${encodeURIComponent(found.clientId)}`;
    if (!outcome.ok) {
      return html(reply, 400, renderAppForm({ csrfToken: reply.generateCsrf(), action, heading: `Edit ${found.name}`, submit: 'Save changes', cancel: action, values: form, errors: outcome.errors, catalog: scopeCatalog(), kindFixed: true }));
    }
    return html(reply, 200, page(reply.generateCsrf(), outcome.result.app, { notice: 'Changes saved.' }));
  });

  app.post<{ Params: IdParams }>('/sandbox/apps/:id/delete', { preHandler: app.csrfProtection, config: formRateLimit }, async (req, reply) => {
    const found = await deps.registry.find(req.params.id);
    if (!found) return notFound(reply, req.params.id);
    if (!(await deps.registry.delete(found.clientId))) {
      return html(reply, 403, renderSandboxMessage({ title: 'Built-in app', text: `${found.name} is a built-in app: it cannot be deleted.`, tone: 'error' }));
    }
    return reply.redirect('/sandbox/apps?deleted=1', 303);
  });
}
