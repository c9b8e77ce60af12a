// Assembles the patient portal: account services over the database, the pages (interaction, account, connected
// apps), their security layer, and the housekeeping that ends access on time (chosen durations, proxy end dates).
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { AuthServer } from '../auth/server.js';
import { endSignIns } from '../auth/sign-ins.js';
import type { Config } from '../config.js';
import type { FhirService } from '../fhir/service.js';
import type { Db } from '../store/db.js';
import { PortalSessionStore } from '../store/portal-sessions.js';
import { accountRoutes } from './account-routes.js';
import type { ActivationService } from './activation.js';
import { appsRoutes } from './apps-routes.js';
import { systemClock, type Clock } from './clock.js';
import { seedDemoAccounts, type DemoSeedReport } from './demo-seed.js';
import { interactionRoutes } from './interaction.js';
import { OutboxMailer, type InfoLogger } from './mailer.js';
import { createPortalServices } from './services.js';
import { linkAccessEndsAt } from './access-end.js';
import type { PortalAccountDirectory } from './account-directory.js';
import type { AppLinkStore } from '../store/app-links.js';
import type { AuditLogStore } from '../store/audit-log.js';
import type { PortalDeps } from './portal-deps.js';
import type { ProxyService } from './proxy-service.js';
import { PortalSessions } from './session.js';
import { CONSENT_UI_STATIC_DIR, renderMessage } from './views.js';
import { registerWebSecurity, setPageErrorHandler } from './web-security.js';

export interface Portal {
  readonly directory: PortalAccountDirectory;
  readonly appLinks: AppLinkStore;
  readonly auditLog: AuditLogStore;
  readonly proxies: ProxyService;
  readonly activation: ActivationService;
  /** Sandbox demo accounts; needs the seeded Patients, so it runs after the FHIR seed */
  seedDemo(): Promise<DemoSeedReport>;
  /** Ends what is due: links past their chosen duration, access through proxies that ended */
  sweep(): Promise<{ expiredLinks: number; proxyGrants: number }>;
}

export interface PortalOptions {
  readonly config: Config;
  readonly db: Db;
  readonly fhir: FhirService;
  readonly clock?: Clock;
}

export interface PortalMountOptions {
  readonly services: PortalAppServices;
  readonly auth: AuthServer;
  /** Where the forms' rate limits are counted (shared by every instance) */
  readonly rateLimitStore: FastifyRateLimitStoreCtor;
}

/**
 * The account services (shared with the operator scripts, see services.ts) with the sandbox outbox as their mailer;
 * made before the authorization server, which needs the account directory.
 */
export function portalServices(opts: PortalOptions & { log?: InfoLogger }) {
  const now = opts.clock ?? systemClock;
  const outbox = new OutboxMailer(opts.db.kysely, opts.log, now);
  const services = createPortalServices({ db: opts.db, fhir: opts.fhir, mailer: outbox, now, resetUrl: `${opts.config.publicUrl}/portal/reset`, ...(opts.log ? { log: opts.log } : {}) });
  return { ...services, outbox, now };
}

export type PortalAppServices = ReturnType<typeof portalServices>;

/** Mounts the portal; `services` were made first, because the authorization server needs their account directory. */
export async function createPortal(app: FastifyInstance, opts: PortalOptions & PortalMountOptions): Promise<Portal> {
  const { config, auth, services: s } = opts;
  const sessions = new PortalSessions(new PortalSessionStore(opts.db), { idleMs: config.sessionIdleSeconds * 1000, clock: s.now });
  const deps: PortalDeps = {
    provider: auth.provider,
    contexts: auth.contexts,
    revokeGrant: (grantId, cause) => auth.revokeGrant(grantId, cause),
    endSignIns: (accountId) => endSignIns({ models: auth.models, revokeGrant: (grantId) => auth.revokeGrant(grantId) }, accountId),
    narrowGrant: (grantId, scope) => auth.narrowGrant(grantId, scope),
    directory: s.directory,
    accounts: s.accounts,
    activation: s.activation,
    selfSignup: s.signup,
    resets: s.resets,
    sessions,
    appLinks: s.appLinks,
    auditLog: s.auditLog,
    security: s.security,
    mailer: s.outbox,
    sandbox: config.sandbox,
    ...(config.sandbox ? { outbox: s.outbox } : {}),
    resources: opts.fhir.store,
    patients: s.patients,
    publicUrl: config.publicUrl,
    fhirBaseUrl: config.fhirBaseUrl,
    smartStyleUrl: `${config.publicUrl}/smart-style.json`,
    secureCookies: config.publicUrl.startsWith('https:'),
    cookieSecret: auth.cookieSecret,
    siteName: config.siteName,
    signInRateLimit: config.signInRateLimit,
    clock: s.now,
  };

  await app.register(async (web) => {
    await registerWebSecurity(web, { cookieSecret: deps.cookieSecret, secureCookies: deps.secureCookies, rateLimitStore: opts.rateLimitStore });
    // A stale form (CSRF), too many attempts, or a fault of ours: a page in the portal's words.
    const PORTAL_TEXT = {
      'stale-form': 'This form is out of date or was sent from another site. Go back, reload the page and try again.',
      fault: 'Something went wrong on our side. Please try again in a moment.',
      refused: 'The request could not be handled.',
    } as const;
    setPageErrorHandler(web, 'portal', (e) =>
      renderMessage({
        siteName: deps.siteName,
        title: e.kind === 'too-many' ? 'Please wait' : e.kind === 'fault' ? 'Sorry' : 'Cannot continue',
        text: e.kind === 'too-many' ? e.message : PORTAL_TEXT[e.kind],
        tone: 'error',
      }),
    );
    await web.register(fastifyStatic, { root: CONSENT_UI_STATIC_DIR, prefix: '/portal/static/', decorateReply: false, maxAge: 3600_000 });
    await interactionRoutes(web, deps);
    await accountRoutes(web, deps);
    await appsRoutes(web, deps);
  });

  const sweep = async () => {
    const now = s.now();
    const proxy = await s.proxies.expireDue(now, (grantId) => auth.revokeGrant(grantId, { reason: 'proxy-access-ended' }));
    let expiredLinks = 0;
    // Chosen durations that ran out, and proxy access that ended or narrowed (a child turning 13).
    const due = [...(await s.appLinks.listExpired(now)), ...(await s.appLinks.listLiveThroughProxies())];
    for (const link of due) {
      const ends = await linkAccessEndsAt(s, link, now);
      if (ends === undefined || ends > now) continue;
      await auth.revokeGrant(link.grantId, { reason: 'access-ended' });
      if (await s.appLinks.revoke(link.grantId, now)) expiredLinks++;
    }
    await sessions.sweep();
    return { expiredLinks, proxyGrants: proxy.revokedGrants.length };
  };
  // oidc-provider ends grants by itself too (a replayed code, a reused refresh token, sign-out of a session-bound
  // grant): the connected-apps page must stop listing those apps as connected.
  auth.provider.on('grant.revoked', (_ctx: unknown, grantId: string) => {
    void s.appLinks.revoke(grantId, s.now()).catch((err: unknown) => app.log.warn({ err, grantId }, 'ending the app link of a revoked grant failed'));
  });
  const timer = setInterval(() => void sweep().catch((err: unknown) => app.log.warn({ err }, 'portal expiry sweep failed')), 60_000);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  return {
    directory: s.directory,
    appLinks: s.appLinks,
    auditLog: s.auditLog,
    proxies: s.proxies,
    activation: s.activation,
    seedDemo: () => seedDemoAccounts({ k: opts.db.kysely, accounts: s.accounts, patients: s.patients, now: s.now }),
    sweep,
  };
}
