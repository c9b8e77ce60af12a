// What the portal's routes need, assembled once by the app (see src/portal/create-portal.ts).
import type Provider from 'oidc-provider';
import type { AppLinkStore } from '../store/app-links.js';
import type { AuditLogStore } from '../store/audit-log.js';
import type { GrantRevocationCause } from '../auth/server.js';
import type { SecurityRecorder } from '../audit/security-log.js';
import type { ResourceStore } from '../store/resources.js';
import type { SmartContextStore } from '../store/smart-context.js';
import type { AccountService } from './account-service.js';
import type { PortalAccountDirectory } from './account-directory.js';
import type { ActivationService } from './activation.js';
import type { Clock } from './clock.js';
import type { Mailer, OutboxMailer } from './mailer.js';
import type { PasswordResetService } from './password-reset.js';
import type { PatientRecords } from './patient-records.js';
import type { SelfSignupService } from './self-signup.js';
import type { PortalSessions } from './session.js';

export interface PortalDeps {
  readonly provider: Provider;
  readonly contexts: SmartContextStore;
  /** Revokes a grant and all its tokens on every instance (recorded in the audit trail with its cause) */
  readonly revokeGrant: (grantId: string, cause?: GrantRevocationCause) => Promise<void>;
  /** After narrowing: refresh tokens take the narrower scope, every instance re-reads the grant */
  readonly narrowGrant: (grantId: string, scope: string) => Promise<void>;
  /** Ends the account's sign-ins at the authorization server (sessions, authorizations in progress); returns grants that ended with them */
  readonly endSignIns: (accountId: string) => Promise<readonly string[]>;
  readonly directory: PortalAccountDirectory;
  readonly accounts: AccountService;
  readonly activation: ActivationService;
  readonly selfSignup: SelfSignupService;
  readonly resets: PasswordResetService;
  readonly sessions: PortalSessions;
  readonly appLinks: AppLinkStore;
  readonly auditLog: AuditLogStore;
  /** Sign-ins, sign-ups, password resets, consents and grant changes go into the audit trail through it */
  readonly security: SecurityRecorder;
  readonly mailer: Mailer;
  /** Sandbox mode: launches from the simulator may sign in and answer consent by themselves (their LaunchOptions) */
  readonly sandbox: boolean;
  /** Present in sandbox mode: the /dev/mailbox page reads it */
  readonly outbox?: OutboxMailer;
  readonly resources: ResourceStore;
  readonly patients: PatientRecords;
  readonly publicUrl: string;
  readonly fhirBaseUrl: string;
  readonly smartStyleUrl: string;
  readonly secureCookies: boolean;
  readonly cookieSecret: string;
  readonly siteName: string;
  /** Sign-in attempts per minute from one address, across the sign-in forms */
  readonly signInRateLimit: number;
  readonly clock: Clock;
}

export const SESSION_COOKIE = 'portal_session';
