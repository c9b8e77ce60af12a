// npm run audit:verify: walks the audit trail's hash chain (src/store/audit-chain.ts) for DATABASE_URL (on SQLite the
// audit file beside it) and says whether it is intact, or which row first breaks it and how. Reads only; a page of
// rows at a time, in one read snapshot, so it runs beside live servers on a trail of any length.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.js';
import { runMain } from './cli.js';

const USAGE = `usage: npm run audit:verify [-- --anchor ROW_ID:HASH] [--quiet]

  --anchor ROW_ID:HASH   also require that row ROW_ID still has HASH (the "head" a former run printed, kept
                         somewhere the database's administrators cannot change): catches a trail rewritten with
                         every hash after the change recomputed
  --quiet                no progress lines on stderr

Prints OK with the number of rows and the chain head (row id and hash), or the first row where the chain breaks and
why: edited, deleted, reordered, inserted, unchained (no hash), truncated (the last rows deleted), head-mismatch.
Uses DATABASE_URL (default sqlite:./data/smart.db); on SQLite the trail is in the -audit file beside it.

Exit code: 0 intact; 1 broken (or the trail could not be read); 2 usage or configuration error.`;

function usageError(message: string): never {
  process.stderr.write(`audit:verify: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function parse(): { anchor?: { id: number; hash: string }; quiet: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ options: { anchor: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    usageError((err as Error).message);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const anchorText = parsed.values.anchor;
  if (anchorText === undefined) return { quiet: Boolean(parsed.values.quiet) };
  const m = /^(\d+):([0-9a-fA-F]{64})$/.exec(anchorText);
  if (!m) usageError(`--anchor "${anchorText}" is not ROW_ID:HASH (a row id, a colon and 64 hex digits)`);
  return { anchor: { id: Number(m[1]), hash: m[2]!.toLowerCase() }, quiet: Boolean(parsed.values.quiet) };
}

async function main(): Promise<number> {
  const args = parse();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) usageError(err.message);
    throw err;
  }
  const [{ openDb }, { verifyAuditChain }] = await Promise.all([import('../src/store/db.js'), import('../src/store/audit-verify.js')]);
  const db = openDb(config.database);
  try {
    const started = Date.now();
    let shown = 0;
    const report = await verifyAuditChain(db, {
      ...(args.anchor ? { anchor: args.anchor } : {}),
      onProgress: (rows) => {
        if (args.quiet || rows - shown < 1_000_000) return;
        shown = rows;
        process.stderr.write(`audit:verify: ${rows.toLocaleString('en')} rows checked\n`);
      },
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (report.ok) {
      console.log(`OK: the audit chain is intact: ${report.rows} rows (${seconds} s)`);
      console.log(`head: ${report.lastId}:${report.lastHash}`);
      return 0;
    }
    const brk = report.break!;
    console.log(`BROKEN at row ${brk.rowId ?? '-'} (${brk.kind}): ${brk.message}`);
    console.log(`intact before it: ${report.rows} rows, up to row ${report.lastId}`);
    return 1;
  } catch (err) {
    // A trail that cannot be read cannot be vouched for: a failure, not a usage error.
    const message = (err as Error).message;
    const unmigrated = /audit_chain_head|hash/.test(message) ? ' (the database has not been migrated to the chained trail yet: start the server once)' : '';
    console.log(`FAILED: the audit trail could not be read: ${message}${unmigrated}`);
    return 1;
  } finally {
    await db.close();
  }
}

runMain('audit:verify', main);
