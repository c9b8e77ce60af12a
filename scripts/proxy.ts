// npm run proxy -- grant|revoke|list: the operator's tool for proxy access (a parent's access to a child's record,
// a legal authorization for an adult's). The rule itself lives in src/portal/proxy-policy.ts.
import { parseArgs } from 'node:util';
import { runMain, withStore } from './cli.js';
import { PROXY_REASON_TEXT } from '../src/portal/proxy-policy.js';
import { isRelationship, ProxyError, RELATIONSHIPS } from '../src/portal/proxy-service.js';
import type { PortalServices } from '../src/portal/services.js';

const USAGE = `usage: npm run proxy -- COMMAND ...

  grant --holder USERNAME --patient PATIENT_ID --relationship ${RELATIONSHIPS.join('|')}
        --from DATE [--until DATE] [--note TEXT]
                     give USERNAME's account access to PATIENT_ID's record from DATE (until DATE)
                     parent / guardian: patients under 18 (full access under 13, limited 13-17, ends at 18)
                     legal-authorization: adults (full access), e.g. a health care power of attorney
  revoke RELATION_ID end a relation now; apps connected through it are disconnected by the server
  list --holder USERNAME
                     the relations an account holds and what each allows today

DATE is YYYY-MM-DD (midnight UTC) or a full ISO 8601 time. Uses DATABASE_URL (default sqlite:./data/smart.db).

Exit code: 0 done; 1 the request was refused (e.g. unknown account or patient); 2 usage or configuration error.`;

function usageError(message: string): never {
  process.stderr.write(`proxy: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

type Command =
  | { kind: 'grant'; holder: string; patient: string; relationship: (typeof RELATIONSHIPS)[number]; from: number; until: number | null; note: string | null }
  | { kind: 'revoke'; id: string }
  | { kind: 'list'; holder: string };

function parseDate(flag: string, value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) usageError(`--${flag} "${value}" is not a date (YYYY-MM-DD)`);
  return ms;
}

function required(values: Record<string, unknown>, flag: string): string {
  const v = values[flag];
  if (typeof v !== 'string' || !v) usageError(`--${flag} is required`);
  return v;
}

function parseCommand(argv: readonly string[]): Command {
  const [sub, ...rest] = argv;
  if (sub === undefined) usageError('no command given');
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(USAGE);
    process.exit(0);
  }
  const options = {
    holder: { type: 'string' },
    patient: { type: 'string' },
    relationship: { type: 'string' },
    from: { type: 'string' },
    until: { type: 'string' },
    note: { type: 'string' },
  } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], allowPositionals: true, options: sub === 'grant' ? options : sub === 'list' ? { holder: options.holder } : {} });
  } catch (err) {
    usageError(`${sub}: ${(err as Error).message}`);
  }
  const values = parsed.values as Record<string, string | undefined>;
  switch (sub) {
    case 'grant': {
      if (parsed.positionals.length) usageError(`grant: unexpected argument "${parsed.positionals[0]}"`);
      const relationship = required(values, 'relationship');
      if (!isRelationship(relationship)) usageError(`--relationship must be one of ${RELATIONSHIPS.join(', ')}, not "${relationship}"`);
      const from = parseDate('from', required(values, 'from'));
      const until = values.until === undefined ? null : parseDate('until', values.until);
      if (until !== null && until <= from) usageError('--until must come after --from');
      return { kind: 'grant', holder: required(values, 'holder'), patient: required(values, 'patient'), relationship, from, until, note: values.note ?? null };
    }
    case 'revoke':
      if (parsed.positionals.length !== 1) usageError('revoke: give exactly one relation id');
      return { kind: 'revoke', id: parsed.positionals[0]! };
    case 'list':
      if (parsed.positionals.length) usageError(`list: unexpected argument "${parsed.positionals[0]}"`);
      return { kind: 'list', holder: required(values, 'holder') };
    default:
      return usageError(`unknown command "${sub}"`);
  }
}

const day = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '-' : new Date(ms).toISOString().slice(0, 10));

async function run(cmd: Command, portal: PortalServices): Promise<number> {
  switch (cmd.kind) {
    case 'grant': {
      const r = await portal.proxies.grant({ holderUsername: cmd.holder, patientId: cmd.patient, relationship: cmd.relationship, from: cmd.from, until: cmd.until, note: cmd.note });
      console.log(`Recorded ${r.relationship} relation ${r.id}: ${cmd.holder.toLowerCase()} → Patient/${r.patientId}, from ${day(r.startsAt)} until ${r.endsAt === null ? 'revoked' : day(r.endsAt)}`);
      return 0;
    }
    case 'revoke': {
      const r = await portal.proxies.revoke(cmd.id);
      if (!r.revoked) {
        const known = await portal.proxies.find(cmd.id);
        process.stderr.write(known ? `proxy: relation ${cmd.id} was revoked already\n` : `proxy: there is no relation ${cmd.id}\n`);
        return 1;
      }
      console.log(`Revoked relation ${cmd.id}.${r.grantIds.length ? ` ${r.grantIds.length} connected app(s) lose access now: running servers refuse their tokens within REVOCATION_POLL_MS, and their next expiry sweep removes the grants.` : ''}`);
      return 0;
    }
    case 'list': {
      const rows = await portal.proxies.listForHolder(cmd.holder);
      if (!rows.length) {
        console.log(`No proxy relations for "${cmd.holder.toLowerCase()}".`);
        return 0;
      }
      for (const { relation: r, patientName, access } of rows) {
        console.log(`${r.id}  ${r.relationship.padEnd(19)}  Patient/${r.patientId}${patientName ? ` (${patientName})` : ''}  ${day(r.startsAt)} → ${r.endsAt === null ? '' : day(r.endsAt)}`);
        console.log(`    ${access.active ? 'ACTIVE' : 'inactive'}: ${PROXY_REASON_TEXT[access.reason]}${access.active && access.endsAt !== undefined ? ` Ends ${day(access.endsAt)}.` : ''}${r.note ? ` Note: ${r.note}` : ''}`);
      }
      return 0;
    }
  }
}

async function main(): Promise<number> {
  const cmd = parseCommand(process.argv.slice(2));
  const { createPortalServices } = await import('../src/portal/services.js');
  return withStore(usageError, async ({ db, fhir }) => {
    try {
      return await run(cmd, createPortalServices({ db, fhir }));
    } catch (err) {
      if (!(err instanceof ProxyError)) throw err;
      process.stderr.write(`proxy: ${err.message}\n`);
      return 1;
    }
  });
}

runMain('proxy', main);
