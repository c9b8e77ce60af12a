// Kysely's SQLite dialect with a fair connection lock. SQLite has one connection, so every query and transaction
// takes turns on it. Kysely's own lock wakes every waiter on each release and lets whoever asks first in the
// meantime jump ahead: under load (100 concurrent searches, each taking the connection twice) a request could
// wait behind thousands of later ones for seconds, and each release cost a wake-up per waiter. This lock hands
// the connection to the longest waiter, one wake-up per release.
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';

/** First come, first served; `release` passes the lock straight to the next waiter. */
export class FifoLock {
  #held = false;
  readonly #waiting: (() => void)[] = [];

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#held = false;
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}

class FairSqliteDriver extends SqliteDriver {
  readonly #lock = new FifoLock();

  override async acquireConnection(): Promise<DatabaseConnection> {
    await this.#lock.acquire();
    // Kysely's lock is free whenever ours is held, so this never waits.
    return super.acquireConnection();
  }

  /**
   * Takes the write lock when the transaction begins. A deferred transaction that reads and then writes fails at
   * once with SQLITE_BUSY when another process (a second worker or instance on the same file) committed meanwhile;
   * an immediate one waits its turn through busy_timeout instead. Within one process our lock already serializes.
   */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    this.#lock.release();
  }
}

export class FairSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new FairSqliteDriver(this.#config);
  }
}
