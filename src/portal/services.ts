// Wires the portal's account back end together once, for the server and the operator scripts alike.
import type { FhirService } from '../fhir/service.js';
import { AppLinkStore } from '../store/app-links.js';
import { AuditLogStore } from '../store/audit-log.js';
import { SecurityLog } from '../audit/security-log.js';
import type { Db } from '../store/db.js';
import { AccountService, type AccountServiceOptions } from './account-service.js';
import { PortalAccountDirectory } from './account-directory.js';
import { ActivationService } from './activation.js';
import { systemClock, type Clock } from './clock.js';
import { OutboxMailer, type InfoLogger, type Mailer } from './mailer.js';
import { PasswordResetService } from './password-reset.js';
import { PatientRecords } from './patient-records.js';
import { ProxyService } from './proxy-service.js';
import { SelfSignupService } from './self-signup.js';

export interface PortalServices {
  readonly accounts: AccountService;
  readonly patients: PatientRecords;
  readonly activation: ActivationService;
  readonly signup: SelfSignupService;
  readonly resets: PasswordResetService;
  readonly proxies: ProxyService;
  readonly directory: PortalAccountDirectory;
  readonly mailer: Mailer;
  readonly appLinks: AppLinkStore;
  readonly auditLog: AuditLogStore;
  /** Security events (sign-in, consent, proxy relations, ...) into the same audit trail */
  readonly security: SecurityLog;
}

export interface PortalServicesDeps {
  readonly db: Db;
  readonly fhir: FhirService;
  /** Defaults to the sandbox outbox (mail_outbox table) */
  readonly mailer?: Mailer;
  readonly log?: InfoLogger;
  readonly now?: Clock;
  /** Lockout settings and hash parameters */
  readonly accountOptions?: Omit<AccountServiceOptions, 'now'>;
  /** Page where a reset code is entered, quoted in the reset e-mail */
  readonly resetUrl?: string;
}

export function createPortalServices(deps: PortalServicesDeps): PortalServices {
  const k = deps.db.kysely;
  const now = deps.now ?? systemClock;
  const accounts = new AccountService(k, { ...deps.accountOptions, now });
  const patients = new PatientRecords(deps.fhir);
  const mailer = deps.mailer ?? new OutboxMailer(k, deps.log, now);
  const auditLog = new AuditLogStore(deps.db);
  const security = new SecurityLog(auditLog);
  const proxies = new ProxyService({ k, patients, now, security });
  return {
    accounts,
    patients,
    activation: new ActivationService({ k, accounts, patients, now }),
    signup: new SelfSignupService({ k, accounts, patients, now }),
    resets: new PasswordResetService({ k, accounts, mailer, now, ...(deps.resetUrl ? { resetUrl: deps.resetUrl } : {}) }),
    proxies,
    directory: new PortalAccountDirectory({ accounts, patients, proxies, now }),
    mailer,
    appLinks: new AppLinkStore(k),
    auditLog,
    security,
  };
}
