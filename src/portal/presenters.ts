// Small translations from domain objects to what the views show.
import { setTimeout as sleep } from 'node:timers/promises';
import type { PatientRelationship } from './account-directory.js';
import type { AppInfo, Relationship } from './views.js';

interface ClientLike {
  readonly clientName?: string;
  metadata(): Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);

/** An app as its registration describes it (every field untrusted; the views escape and vet URLs). */
export function clientApp(client: ClientLike | undefined, clientId: string): AppInfo {
  const md = client?.metadata() ?? {};
  const info: { -readonly [K in keyof AppInfo]: AppInfo[K] } = { name: str(client?.clientName) ?? clientId };
  const publisher = str(md.publisher);
  const description = str(md.description);
  const logoUrl = str(md.logo_uri);
  const termsUrl = str(md.tos_uri);
  const privacyUrl = str(md.policy_uri);
  if (publisher) info.publisher = publisher;
  if (description) info.description = description;
  if (logoUrl) info.logoUrl = logoUrl;
  if (termsUrl) info.termsUrl = termsUrl;
  if (privacyUrl) info.privacyUrl = privacyUrl;
  return info;
}

export function personRelationship(r: PatientRelationship): Relationship {
  return r === 'adult-proxy' ? 'other' : r;
}

/**
 * Every failed sign-in answers after the same pause, whatever the reason: it slows guessing down and keeps
 * "no such user", "wrong password" and "locked" indistinguishable by timing.
 */
export const signInFailureDelay = (): Promise<void> => sleep(600);

/** "Basic information about you" reads wrong on a child's record: name whose it is instead. */
export function labelFor<G extends { readonly key: string; readonly label: string }>(group: G, person: { readonly name: string; readonly relationship: Relationship }): G {
  if (group.key !== 'basic' || person.relationship === 'self') return group;
  return { ...group, label: `Basic information about ${person.name.split(' ')[0]}` };
}

/** Said on the sign-in page when someone comes back to a session that ended for inactivity. */
export function idleNotice(idleMs: number): string {
  const minutes = Math.round(idleMs / 60_000);
  const span = minutes >= 1 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${Math.round(idleMs / 1000)} seconds`;
  return `You were signed out after ${span} without activity. Please sign in again.`;
}
