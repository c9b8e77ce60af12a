// Assembles the patient portal: account services over the database, the pages (interaction, account, connected
// apps), their security layer, and the housekeeping that ends access on time (chosen durations, proxy end dates).
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { AuthServer } from '../auth/server.js';
import type { Config } from '../config.js';
import type { FhirService } from '../fhir/service.js';
import { AppLinkStore } from '../store/app-links.js';
import { AuditLogStore } from '../store/audit-log.js';
import type { Db } from '../store/db.js';
import { PortalSessionStore } from '../store/portal-sessions.js';
import { PortalAccountDirectory } from './account-directory.js';
import { accountRoutes } from './account-routes.js';
import { AccountService } from './account-service.js';
import { ActivationService } from './activation.js';
import { appsRoutes } from './apps-routes.js';
import { systemClock, type Clock } from './clock.js';
import { seedDemoAccounts, type DemoSeedReport } from './demo-seed.js';
import { interactionRoutes } from './interaction.js';
import { OutboxMailer } from './mailer.js';
import { PasswordResetService } from './password-reset.js';
import { PatientRecords } from './patient-records.js';
import type { PortalDeps } from './portal-deps.js';
import { ProxyService } from './proxy-service.js';
import { SelfSignupService } from './self-signup.js';
import { PortalSessions } from './session.js';
import { CONSENT_UI_STATIC_DIR } from './views.js';
import { registerWebSecurity } from './web-security.js';

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

/** The services, without routes: scripts (activation codes, proxies) use these too. */
export function createPortalServices(opts: PortalOptions) {
  const k = opts.db.kysely;
  const now = opts.clock ?? systemClock;
  const patients = new PatientRecords(opts.fhir);
  const accounts = new AccountService(k, { now });
  const proxies = new ProxyService({ k, patients, now });
  const directory = new PortalAccountDirectory({ accounts, patients, proxies, now });
  return {
    now,
    patients,
    accounts,
    proxies,
    directory,
    activation: new ActivationService({ k, accounts, patients, now }),
    selfSignup: new SelfSignupService({ k, accounts, patients, now }),
    appLinks: new AppLinkStore(k),
    auditLog: new AuditLogStore(k),
  };
}

export type PortalServices = ReturnType<typeof createPortalServices>;

/** Mounts the portal; `services` were made first, because the authorization server needs their account directory. */
export async function createPortal(app: FastifyInstance, opts: PortalOptions & { services: PortalServices; auth: AuthServer }): Promise<Portal> {
  const { config, auth, services: s } = opts;
  const outbox = new OutboxMailer(opts.db.kysely, app.log, s.now);
  const resets = new PasswordResetService({ k: opts.db.kysely, accounts: s.accounts, mailer: outbox, now: s.now, resetUrl: `${config.publicUrl}/portal/reset` });
  const sessions = new PortalSessions(new PortalSessionStore(opts.db), { idleMs: config.sessionIdleSeconds * 1000, clock: s.now });
  const deps: PortalDeps = {
    provider: auth.provider,
    contexts: auth.contexts,
    revokeGrant: (grantId) => auth.revokeGrant(grantId),
    narrowGrant: (grantId, scope) => auth.narrowGrant(grantId, scope),
    directory: s.directory,
    accounts: s.accounts,
    activation: s.activation,
    selfSignup: s.selfSignup,
    resets,
    sessions,
    appLinks: s.appLinks,
    auditLog: s.auditLog,
    mailer: outbox,
    ...(config.sandbox ? { outbox } : {}),
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
    await registerWebSecurity(web, { cookieSecret: deps.cookieSecret, secureCookies: deps.secureCookies });
    await web.register(fastifyStatic, { root: CONSENT_UI_STATIC_DIR, prefix: '/portal/static/', decorateReply: false, maxAge: 3600_000 });
    await interactionRoutes(web, deps);
    await accountRoutes(web, deps);
    await appsRoutes(web, deps);
  });

  const sweep = async () => {
    let expiredLinks = 0;
    for (const link of await s.appLinks.listExpired(s.now())) {
      await auth.revokeGrant(link.grantId);
      if (await s.appLinks.revoke(link.grantId, s.now())) expiredLinks++;
    }
    const proxy = await s.proxies.expireDue(s.now(), (grantId) => auth.revokeGrant(grantId));
    await sessions.sweep();
    return { expiredLinks, proxyGrants: proxy.revokedGrants.length };
  };
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
