// What the sandbox pages need, assembled once in src/sandbox/plugin.ts.
import type Provider from 'oidc-provider';
import type { TokenStatus } from '../auth/token-status.js';
import type { PortalAccountDirectory } from '../portal/account-directory.js';
import type { AppLinkStore } from '../store/app-links.js';
import type { SmartContextStore } from '../store/smart-context.js';
import type { AppRegistry } from './app-registry.js';
import type { Launcher } from './launcher.js';
import type { PatientDirectory } from './patient-directory.js';

export interface SandboxPageDeps {
  readonly provider: Provider;
  readonly contexts: SmartContextStore;
  readonly registry: AppRegistry;
  readonly launcher: Launcher;
  readonly patients: PatientDirectory;
  readonly directory: PortalAccountDirectory;
  readonly appLinks: AppLinkStore;
  readonly revokeGrant: (grantId: string) => Promise<void>;
  readonly tokenStatus: (token: string) => Promise<TokenStatus>;
  readonly fhirBaseUrl: string;
  readonly smartConfigurationUrl: string;
  readonly openidConfigurationUrl: string;
  readonly tokenEndpoint: string;
  readonly clock: () => number;
  /** Cookies only over https (PUBLIC_URL is https) */
  readonly secureCookies: boolean;
}

export const LAST_LAUNCH_COOKIE = 'sandbox_last_launch';

/**
 * Form posts accepted per minute from one address on the sandbox pages: generous for a developer clicking through,
 * a ceiling for scripts filling the open registration with apps.
 */
export const FORM_POSTS_PER_MINUTE = 60;
export const formRateLimit = { rateLimit: { max: FORM_POSTS_PER_MINUTE, timeWindow: 60_000 } } as const;
