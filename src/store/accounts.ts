// Portal accounts: rows in, rows out. No policy lives here. (Sign-in failures are counted in the shared rate-limit
// table, see portal/account-service.ts; the accounts table's failed_logins and locked_until columns are no longer used.)
import type { Kysely, Selectable } from 'kysely';
import type { AccountRole, AccountTable, Database } from './schema.js';

export interface Account {
  readonly id: string;
  readonly username: string;
  readonly passwordHash: string;
  readonly email: string | null;
  readonly displayName: string;
  readonly fhirUser: string;
  readonly patientId: string | null;
  readonly role: AccountRole;
  readonly createdAt: number;
  readonly passwordChangedAt: number;
}

/** A new account: everything but the dates the store keeps from then on. */
export type NewAccount = Omit<Account, 'passwordChangedAt'>;

/** Which unique rule an insert broke; the caller words the message. */
export type AccountConflict = 'username' | 'patient' | 'id';

function fromRow(r: Selectable<AccountTable>): Account {
  return {
    id: r.id,
    username: r.username,
    passwordHash: r.password_hash,
    email: r.email,
    displayName: r.display_name,
    fhirUser: r.fhir_user,
    patientId: r.patient_id,
    role: r.role,
    createdAt: Number(r.created_at),
    passwordChangedAt: Number(r.password_changed_at),
  };
}

/** Usernames and e-mail addresses compare case-insensitively; the stored form is the lower-case one. */
export const normalizeUsername = (username: string): string => username.trim().toLowerCase();
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export class AccountStore {
  /** `k` is the database or an open transaction. */
  constructor(private readonly k: Kysely<Database>) {}

  async findById(id: string): Promise<Account | undefined> {
    const r = await this.k.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return r && fromRow(r);
  }

  async findByUsername(username: string): Promise<Account | undefined> {
    const r = await this.k.selectFrom('accounts').selectAll().where('username', '=', normalizeUsername(username)).executeTakeFirst();
    return r && fromRow(r);
  }

  async findByEmail(email: string): Promise<Account[]> {
    const rows = await this.k.selectFrom('accounts').selectAll().where('email', '=', normalizeEmail(email)).orderBy('created_at').execute();
    return rows.map(fromRow);
  }

  async findByPatient(patientId: string): Promise<Account | undefined> {
    const r = await this.k.selectFrom('accounts').selectAll().where('patient_id', '=', patientId).executeTakeFirst();
    return r && fromRow(r);
  }

  async findMany(ids: readonly string[]): Promise<Account[]> {
    if (!ids.length) return [];
    return (await this.k.selectFrom('accounts').selectAll().where('id', 'in', [...ids]).execute()).map(fromRow);
  }

  /** Inserts; a broken unique rule (username, own patient record, id) comes back as which one. */
  async insert(a: NewAccount): Promise<{ ok: true; account: Account } | { ok: false; conflict: AccountConflict }> {
    const username = normalizeUsername(a.username);
    const clash = await this.#conflict(a.id, username, a.patientId);
    if (clash) return { ok: false, conflict: clash };
    const row = {
      id: a.id,
      username,
      password_hash: a.passwordHash,
      email: a.email === null ? null : normalizeEmail(a.email),
      display_name: a.displayName,
      fhir_user: a.fhirUser,
      patient_id: a.patientId,
      role: a.role,
      failed_logins: 0,
      locked_until: null,
      created_at: a.createdAt,
      password_changed_at: a.createdAt,
    };
    // DO NOTHING rather than catching the violation: inside a PostgreSQL transaction an error would abort it.
    const r = await this.k.insertInto('accounts').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) {
      // A concurrent insert won between the check and ours: report what it took.
      const after = await this.#conflict(a.id, username, a.patientId);
      return { ok: false, conflict: after ?? 'id' };
    }
    return { ok: true, account: fromRow(row) };
  }

  async #conflict(id: string, username: string, patientId: string | null): Promise<AccountConflict | undefined> {
    if (await this.findByUsername(username)) return 'username';
    if (patientId !== null && (await this.findByPatient(patientId))) return 'patient';
    if (await this.findById(id)) return 'id';
    return undefined;
  }

  /** New password (the caller lifts a sign-in lock: whoever sets it proved control some other way). */
  async setPassword(id: string, passwordHash: string, at: number): Promise<void> {
    await this.k
      .updateTable('accounts')
      .set({ password_hash: passwordHash, password_changed_at: at })
      .where('id', '=', id)
      .execute();
  }

  /** Upgrades a hash to current parameters after a successful login; the password itself did not change. */
  async replaceHash(id: string, oldHash: string, newHash: string): Promise<void> {
    await this.k.updateTable('accounts').set({ password_hash: newHash }).where('id', '=', id).where('password_hash', '=', oldHash).execute();
  }
}
