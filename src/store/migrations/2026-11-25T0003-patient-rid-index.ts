// Patient-scoped searches in insertion order (the default sort) read this index in order instead of sorting.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('resources_patient_rid').on('resources').columns(['type', 'patient_id', 'rid']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('resources_patient_rid').ifExists().execute();
}
