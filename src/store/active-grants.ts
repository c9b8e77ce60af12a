// The number of live grants (oidc-provider's Grant rows not yet expired; revoked ones are deleted), for the metrics
// gauge. One indexed range count on the primary key's leading column (model), run when a scraper asks.
import type { Db } from './db.js';

export async function countActiveGrants(db: Pick<Db, 'kysely'>, nowMs = Date.now()): Promise<number> {
  const nowSeconds = Math.floor(nowMs / 1000);
  const row = await db.kysely
    .selectFrom('oidc_model')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('model', '=', 'Grant')
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowSeconds)]))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
