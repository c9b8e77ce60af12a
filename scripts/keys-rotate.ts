// npm run keys:rotate: adds new signing keys (RS256, ES256) and keeps the current ones published until every
// token they signed has expired. Running instances take the new keys up by themselves (KEYS_RELOAD_SECONDS).
import { ConfigError, loadConfig } from '../src/config.js';
import { rotateKeys } from '../src/auth/keys.js';
import { secretBoxFor } from '../src/auth/secrets-at-rest.js';
import { openDb } from '../src/store/db.js';
import { KeyStore } from '../src/store/keys.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { AuditLogStore } from '../src/store/audit-log.js';
import { SecurityLog, cliActor } from '../src/audit/security-log.js';

// The longest-lived token a signing key signs is the ID token (1 hour); keep a day of margin for clock skew and
// instances that restart late.
const KEEP_SECONDS = 24 * 3600;

try {
  const config = loadConfig();
  const db = openDb(config.database);
  await migrateToLatest(db);
  // New keys are encrypted like the server's (SECRETS_KEY), and the current ones must be readable with it.
  const { added, retiring } = await rotateKeys(new KeyStore(db, secretBoxFor(config)), KEEP_SECONDS);
  // Key ids only: they are published in the JWKS anyway.
  await new SecurityLog(new AuditLogStore(db)).record({ event: 'keys.rotated', actor: cliActor(), detail: { added: added.join(' '), retiring: retiring.join(' ') } });
  await db.close();
  console.log(`Added signing keys: ${added.join(', ')}`);
  console.log(retiring.length ? `Still published until ${new Date(Date.now() + KEEP_SECONDS * 1000).toISOString()}, then removed: ${retiring.join(', ')}` : 'No earlier keys were active.');
  console.log('Running instances publish the new keys within KEYS_RELOAD_SECONDS and sign with them after twice that; no restart needed.');
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}
