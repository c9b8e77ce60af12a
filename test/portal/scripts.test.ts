import t from 'tap';
import { FhirService } from '../../src/fhir/service.js';
import { createPortalServices } from '../../src/portal/services.js';
import { ResourceStore } from '../../src/store/resources.js';
import { createTestDatabase } from '../helpers/database.js';
import { seedPatients } from './fixtures.js';
import { runScript } from '../helpers/run-script.js';


// Each run starts Node with tsx (a second or more on a busy machine): allow for load beyond the default 120 s.
t.setTimeout(300_000);

// A database that must never be opened by a usage error: the scripts fail before touching it.
const run = (script: 'activation-code' | 'proxy', args: string[], env: Record<string, string> = {}) =>
  runScript(script, args, { DATABASE_URL: 'sqlite:/nonexistent-dir/never.db', ...env });

t.test('activation-code: bad arguments print the usage and exit 2', async (t) => {
  const cases = [[], ['a', 'b'], ['--bogus', 'maria-garcia']];
  const runs = await Promise.all(cases.map((args) => run('activation-code', args)));
  for (const [i, r] of runs.entries()) {
    t.equal(r.code, 2, JSON.stringify(cases[i]));
    t.match(r.stderr, /usage: npm run activation-code -- PATIENT_ID/);
  }
  const help = await run('activation-code', ['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage:/);
});

t.test('proxy: bad arguments print the usage and exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /no command given/],
    [['adopt'], /unknown command "adopt"/],
    [['grant', '--patient', 'sofia-garcia', '--relationship', 'parent', '--from', '2026-01-01'], /--holder is required/],
    [['grant', '--holder', 'maria', '--patient', 'sofia-garcia', '--relationship', 'aunt', '--from', '2026-01-01'], /--relationship must be one of parent, guardian, legal-authorization/],
    [['grant', '--holder', 'maria', '--patient', 'sofia-garcia', '--relationship', 'parent', '--from', '01/01/2026'], /--from "01\/01\/2026" is not a date/],
    [['grant', '--holder', 'linda', '--patient', 'harold-jensen', '--relationship', 'legal-authorization', '--from', '2026-01-01', '--until', '2025-01-01'], /--until must come after --from/],
    [['grant', '--holder', 'maria', '--bogus'], /Unknown option/],
    [['revoke'], /exactly one relation id/],
    [['list'], /--holder is required/],
  ];
  const runs = await Promise.all(cases.map(([args]) => run('proxy', args)));
  for (const [i, [args, pattern]] of cases.entries()) {
    const r = runs[i]!;
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, pattern, args.join(' '));
    t.match(r.stderr, /usage: npm run proxy -- COMMAND/);
  }
});

t.test('the scripts issue a redeemable code and grant, list and revoke proxy access on the configured database', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const fhir = new FhirService(new ResourceStore(database.db), 'http://localhost:8080/fhir');
  for (const p of seedPatients()) await fhir.update('Patient', p.id, p);
  const portal = createPortalServices({ db: database.db, fhir });
  const env = { DATABASE_URL: database.url };

  const issued = await run('activation-code', ['linda-kowalski'], env);
  t.equal(issued.code, 0, issued.stderr);
  const code = /: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\n/.exec(issued.stdout)?.[1];
  t.ok(code, issued.stdout);
  t.match(issued.stdout, /Linda Marie Kowalski/);
  t.match(issued.stdout, /Valid until \d{4}-\d{2}-\d{2}T/);
  const redeemed = await portal.activation.redeem({ code: code!, birthDate: '1957-09-30', username: 'linda', password: 'purple-otter-singing-42' });
  t.ok(redeemed.ok, 'the printed code works');

  const unknown = await run('activation-code', ['nobody'], env);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /Patient\/nobody is not in the record store/);

  const granted = await run('proxy', ['grant', '--holder', 'linda', '--patient', 'harold-jensen', '--relationship', 'legal-authorization', '--from', '2026-01-01', '--until', '2099-01-01', '--note', 'POA'], env);
  t.equal(granted.code, 0, granted.stderr);
  const id = /relation ([0-9a-f-]{36})/.exec(granted.stdout)?.[1];
  t.ok(id, granted.stdout);

  const refused = await run('proxy', ['grant', '--holder', 'linda', '--patient', 'daniel-kim', '--relationship', 'parent', '--from', '2026-01-01'], env);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /needs 'legal-authorization'/);

  const list = await run('proxy', ['list', '--holder', 'linda'], env);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, new RegExp(`${id}\\s+legal-authorization\\s+Patient/harold-jensen \\(Harold James Jensen\\)\\s+2026-01-01 → 2099-01-01`));
  t.match(list.stdout, /ACTIVE: Full access under a legal authorization\. Ends 2099-01-01\. Note: POA/);

  t.equal((await run('proxy', ['revoke', id!], env)).code, 0);
  const again = await run('proxy', ['revoke', id!], env);
  t.equal(again.code, 1);
  t.match(again.stderr, /revoked already/);
  t.match((await run('proxy', ['list', '--holder', 'linda'], env)).stdout, /inactive: Revoked\./);
  t.match((await run('proxy', ['list', '--holder', 'nobody'], env)).stdout, /No proxy relations for "nobody"/);
});
