// No cross-patient access, ever (issue 16). A property test over generated worlds — patients of every age that
// matters to proxy access, accounts, proxy relations with their dates, records that point into other records,
// corrections that move resources between records — with tokens minted the real way (authorization-code flow
// through the portal for standalone, user and EHR launches; client_credentials for backend services) in every scope
// form, and generated requests: read, vread, history, search with every parameter of the type, _include,
// _revinclude, paging, $everything, $docref, writes (create, update, delete, conditional forms, references into
// other records), replayed and tampered cursors, and bulk export. Every answer is checked against an independent
// model (cross-patient-model.ts): no resource outside the grant, no write outside it, nothing the model allows
// withheld. Quick mode by default; TEST_LONG=1 runs many more worlds and cases. CROSS_PATIENT_SEED replays a run.
import t from 'tap';
import fc from 'fast-check';
import { REDIRECT, authorize, fhirGet, oidcConfig, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';
import { usingPostgres } from '../helpers/database.js';
import { WORLD_TYPES, current } from './cross-patient-model.js';
import { exportChecks, type ExportStats } from './cross-patient-export.js';
import { buildWorld, createHarness, worldArb, type Harness } from './cross-patient-world.js';
import { caseArb, newStats, runCase, type RunStats } from './cross-patient-requests.js';

const LONG = process.env.TEST_LONG === '1';
const WORLDS = Number(process.env.CROSS_PATIENT_WORLDS ?? (LONG ? 30 : 3));
const CASES_PER_WORLD = Number(process.env.CROSS_PATIENT_CASES ?? (LONG ? 300 : 120));
const SEED = Number(process.env.CROSS_PATIENT_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The model and the database agree on how many resources of each type exist (so the model is worth checking against). */
async function modelMatchesDatabase(h: Harness): Promise<string[]> {
  const problems: string[] = [];
  for (const type of WORLD_TYPES) {
    const res = await fetch(`${h.server.fhirBase}/${type}?_summary=count`, { headers: { authorization: `Bearer ${h.auditor}` } });
    const total = ((await res.json()) as { total?: number }).total;
    const expected = h.model.all(type).filter((r) => !current(r).deleted).length;
    if (total !== expected) problems.push(`${type}: database ${total}, model ${expected}`);
  }
  return problems;
}

/** Rate limits and load shedding stay out of the way: this test is about who sees what, not about load. */
const QUIET_LIMITS = { SIGNIN_RATE_LIMIT: '100000', TOKEN_RATE_LIMIT: '0', TOKEN_CLIENT_RATE_LIMIT: '0', REGISTRATION_RATE_LIMIT: '0', OVERLOAD_EVENT_LOOP_DELAY_MS: '0', EXPORT_MAX_JOBS_PER_CLIENT: '16' };

function summary(stats: RunStats): string {
  const cases = Object.entries(stats.cases).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${Object.values(stats.cases).reduce((a, b) => a + b, 0)} cases (${cases}); ${stats.requests} requests, ${stats.pages} pages, ${stats.resourcesChecked} resources checked in ${stats.nonEmpty} non-empty answers; writes landed ${stats.writesLanded}, refused ${stats.writesRefused}; statuses ${JSON.stringify(stats.statuses)}`;
}

// ------------------------------------------------------------------------------------------------ regressions
// Each was found by the property below; each fails without its fix in src/.

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

async function patientToken(server: SmartServer, username: string, scope: string): Promise<string> {
  const client = await registerClient(server, { client_name: 'Regression', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], scope: 'openid fhirUser launch/patient patient/*.cruds user/*.rs' });
  const config = await oidcConfig(server, client.client_id);
  return (await authorize(server, config, { scope }, { username, password: 'smart-demo' })).tokens.access_token;
}

const entryVersions = (body: Record<string, unknown>) => ((body.entry as { resource?: { meta: { versionId: string } } }[] | undefined) ?? []).flatMap((e) => (e.resource ? [e.resource.meta.versionId] : []));

t.test('regressions found by the property, each failing without its fix', async (t) => {
  const server = await startSmartServer(t, { env: QUIET_LIMITS });

  await t.test("another record's deleted resource stays unknown to a token with two scopes for its type (read, vread, history)", async (t) => {
    // Two scopes covering Observation: the policy is one "any" clause, which the check of deleted rows let through.
    const daniel = await patientToken(server, 'daniel', 'launch/patient patient/*.rs patient/Observation.rs');
    await server.fhir.delete('Observation', 'maria-garcia-laboratory');
    for (const path of ['/Observation/maria-garcia-laboratory', '/Observation/maria-garcia-laboratory/_history/1', '/Observation/maria-garcia-laboratory/_history']) {
      const res = await fhirGet(server, path, daniel);
      t.equal(res.status, 404, `${path}: 404, as for an id that never existed`);
      t.notMatch(JSON.stringify(res.body), /718-7|Patient\/maria/, `${path}: nothing of Maria's result`);
    }
    await server.fhir.delete('AllergyIntolerance', 'daniel-kim-allergy');
    t.equal((await fhirGet(server, '/AllergyIntolerance/daniel-kim-allergy', daniel)).status, 410, 'his own deleted allergy is 410 (control)');
  });

  await t.test('history and vread leave out the versions a resource had in another record, or in a category the token may not see', async (t) => {
    // Daniel's allergy, first filed in Maria's record by mistake, then moved to his by the hospital.
    const misfiled = JSON.parse((await server.fhir.read('AllergyIntolerance', 'maria-garcia-allergy')).json!) as Record<string, unknown>;
    delete misfiled.meta;
    await server.fhir.update('AllergyIntolerance', 'maria-garcia-allergy', { ...misfiled, patient: { reference: 'Patient/daniel-kim' } });
    const daniel = await patientToken(server, 'daniel', 'launch/patient patient/*.rs');
    const history = await fhirGet(server, '/AllergyIntolerance/maria-garcia-allergy/_history', daniel);
    t.equal(history.status, 200, 'the resource is his now');
    t.same(entryVersions(history.body), ['2'], "only his version: version 1 was in Maria's record");
    t.equal((await fhirGet(server, '/AllergyIntolerance/maria-garcia-allergy/_history/1', daniel)).status, 404, "vread of Maria's version is 404");
    t.equal((await fhirGet(server, '/AllergyIntolerance/maria-garcia-allergy/_history/2', daniel)).status, 200, 'vread of his own version (control)');

    // A lab result later recategorized as a vital sign: a vital-signs-only token sees the current version, not the lab one.
    const lab = JSON.parse((await server.fhir.read('Observation', 'daniel-kim-laboratory')).json!) as Record<string, unknown>;
    delete lab.meta;
    await server.fhir.update('Observation', 'daniel-kim-laboratory', { ...lab, category: [{ coding: [{ system: CATEGORY, code: 'vital-signs' }] }] });
    const vitals = await patientToken(server, 'daniel', `launch/patient patient/Observation.rs?category=${CATEGORY}|vital-signs`);
    t.same(entryVersions((await fhirGet(server, '/Observation/daniel-kim-laboratory/_history', vitals)).body), ['2'], 'the laboratory version is left out of the history');
    t.equal((await fhirGet(server, '/Observation/daniel-kim-laboratory/_history/1', vitals)).status, 404, 'and vread of it is 404');
  });

  await t.test("a refused Provenance does not say whose record its target is in: another's target reads as an unknown one", async (t) => {
    const daniel = await patientToken(server, 'daniel', 'launch/patient patient/*.cruds');
    const attach = async (target: string) => {
      const res = await fetch(`${server.fhirBase}/Provenance`, {
        method: 'POST',
        headers: { authorization: `Bearer ${daniel}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Provenance', target: [{ reference: target }], recorded: '2024-01-01T00:00:00Z', agent: [{ who: { reference: 'Organization/x' } }] }),
      });
      return { status: res.status, text: await res.text() };
    };
    const theirs = await attach('Observation/maria-garcia-vital-signs');
    const unknown = await attach('Observation/no-such-observation');
    t.equal((await attach('Observation/daniel-kim-vital-signs')).status, 201, 'to his own result, it can (control: the token may create Provenance)');
    t.equal(theirs.status, 403);
    t.notMatch(theirs.text, /maria/, 'the refusal does not name Maria');
    t.equal(theirs.text, unknown.text, 'the same answer as for a target that does not exist');
  });

  await t.test('a read by id whose access is worked out asynchronously (a user/ token) is answered once, with the resource', async (t) => {
    const maria = await patientToken(server, 'maria', 'openid fhirUser user/*.rs');
    for (let i = 0; i < 3; i++) {
      // The handler's promise settled with nothing while the audit hook held the answer: Fastify sent again, and the
      // held answer then threw "headers already sent" (an unhandled rejection, fatal to the process).
      const res = await fhirGet(server, '/Observation/maria-garcia-vital-signs', maria);
      t.equal(res.status, 200, 'answered');
      t.equal(res.body.id, 'maria-garcia-vital-signs', 'with the resource');
    }
    await new Promise((r) => setTimeout(r, 300));
  });
});

t.test(`no response holds a resource outside the grant and no write lands outside it (${usingPostgres ? 'PostgreSQL' : 'SQLite'}, ${LONG ? 'long' : 'quick'} mode)`, async (t) => {
  const started = Date.now();
  const server = await startSmartServer(t, { seed: false, env: QUIET_LIMITS });
  const h = await createHarness(server);
  const stats = newStats();
  const exports: ExportStats = { jobs: 0, lines: 0, refusedKickOffs: 0 };
  const minted: Record<string, number> = {};
  let refusedFlows = 0;
  const phases = { worlds: 0, cases: 0, exports: 0 };
  t.comment(`seed ${SEED} (CROSS_PATIENT_SEED=${SEED} replays this run), ${WORLDS} worlds x ${CASES_PER_WORLD} cases`);
  for (let w = 0; w < WORLDS; w++) {
    const [spec] = fc.sample(worldArb({ maxRecords: 24, maxGrants: 10 }), { seed: SEED + w, numRuns: 1 });
    let at = Date.now();
    const lap = (phase: keyof typeof phases) => {
      phases[phase] += Date.now() - at;
      at = Date.now();
    };
    const world = await buildWorld(h, w, spec!);
    lap('worlds');
    t.same(world.stats.problems, [], `world ${w}: every token is what its flow asked for, no wider, with the context chosen`);
    for (const [k, v] of Object.entries(world.stats.byKind)) minted[k] = (minted[k] ?? 0) + v;
    refusedFlows += world.stats.refused;
    t.same(await modelMatchesDatabase(h), [], `world ${w}: the model holds what the database holds`);
    if (!world.tokens.length) continue;
    const cx = { h, world, stats };
    const outcome = await fc.check(
      fc.asyncProperty(caseArb(world.tokens.length), (c) => runCase(cx, c)),
      { numRuns: CASES_PER_WORLD, seed: SEED + w },
    );
    lap('cases');
    if (outcome.failed) t.fail(`world ${w}: ${fc.defaultReportMessage(outcome)}\n${(outcome.errorInstance as Error | undefined)?.message ?? ''}`);
    else t.pass(`world ${w}: ${outcome.numRuns} generated requests, none outside the grant (${world.tokens.length} tokens)`);
    t.same(await modelMatchesDatabase(h), [], `world ${w}: after its writes the model still holds what the database holds`);
    t.same(await exportChecks(h, world, w, LONG, exports), [], `world ${w}: bulk export holds exactly what each backend token may search; patient-facing tokens get none`);
    lap('exports');
  }
  t.comment(`tokens minted: ${JSON.stringify(minted)}; flows refused as expected: ${refusedFlows}`);
  t.comment(summary(stats));
  t.comment(`bulk export: ${exports.jobs} jobs, ${exports.lines} NDJSON lines checked, ${exports.refusedKickOffs} patient-facing kick-offs refused`);
  t.comment(`${((Date.now() - started) / 1000).toFixed(1)} s (building worlds and minting tokens ${(phases.worlds / 1000).toFixed(1)} s, cases ${(phases.cases / 1000).toFixed(1)} s, exports ${(phases.exports / 1000).toFixed(1)} s)`);
});
