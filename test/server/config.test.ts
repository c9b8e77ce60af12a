// Configuration from the environment: WORKERS, and every problem reported at once, naming the variable.
import { availableParallelism } from 'node:os';
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { configProblems } from '../helpers/config-problems.js';

const problems = configProblems;

t.test('WORKERS defaults to 1, takes a number, or auto for one per CPU', async (t) => {
  t.equal(loadConfig({}).workers, 1);
  t.equal(loadConfig({ WORKERS: '3' }).workers, 3);
  t.equal(loadConfig({ WORKERS: 'auto' }).workers, availableParallelism());
});

t.test('a WORKERS value that is not a whole number from 1 to 64 is refused, naming it', async (t) => {
  for (const bad of ['0', '-1', '1.5', 'many', '65']) t.match(problems({ WORKERS: bad }), [/^WORKERS ".*" must be a whole number from 1 to 64, or auto/], bad);
});

t.test('several workers with revocation polling off is refused: revocations would not reach the other workers', async (t) => {
  t.match(problems({ WORKERS: '2', REVOCATION_POLL_MS: '0' }), [/REVOCATION_POLL_MS=0 .* cannot be combined with WORKERS above 1/]);
  t.same(problems({ WORKERS: '1', REVOCATION_POLL_MS: '0' }), [], 'one process may turn polling off');
});

t.test('all problems are reported together', async (t) => {
  const found = problems({ PORT: 'x', WORKERS: 'x', LOG_LEVEL: 'loud' });
  for (const name of ['PORT', 'WORKERS', 'LOG_LEVEL']) t.ok(found.some((p) => p.startsWith(`${name} `)), `${name} is named`);
});

t.test('RESOURCE_CACHE_MB sets the read cache in megabytes (64 by default, 0 for off) and refuses anything else', async (t) => {
  t.equal(loadConfig({}).resourceCacheBytes, 64 * 1024 * 1024);
  t.equal(loadConfig({ RESOURCE_CACHE_MB: '0' }).resourceCacheBytes, 0);
  t.equal(loadConfig({ RESOURCE_CACHE_MB: '0.5' }).resourceCacheBytes, 512 * 1024);
  for (const bad of ['-1', 'lots', '']) t.match(problems({ RESOURCE_CACHE_MB: bad }), [/^RESOURCE_CACHE_MB ".*" must be a number of megabytes from 0 \(off\)/], JSON.stringify(bad));
});

t.test('bulk export settings have defaults, accept whole numbers and name the variable when wrong', async (t) => {
  const c = loadConfig({});
  t.equal(c.export.maxPerFile, 50_000);
  t.equal(c.export.concurrency, 1);
  t.equal(c.export.retentionMs, 86_400_000);
  t.equal(c.export.staleMs, 30_000);
  t.equal(c.export.maxJobsPerClient, 5);
  t.match(c.export.dir, /data\/exports$/);
  const set = loadConfig({ EXPORT_DIR: '/tmp/x', EXPORT_FILE_RESOURCES: '10', EXPORT_CONCURRENCY: '2', EXPORT_RETENTION_SECONDS: '60', EXPORT_STALE_SECONDS: '5', EXPORT_MAX_JOBS_PER_CLIENT: '1' });
  t.same({ ...set.export }, { dir: '/tmp/x', maxPerFile: 10, concurrency: 2, retentionMs: 60_000, staleMs: 5_000, maxJobsPerClient: 1 });
  t.throws(() => loadConfig({ EXPORT_FILE_RESOURCES: '0', EXPORT_CONCURRENCY: 'many', EXPORT_RETENTION_SECONDS: '1.5' }), {
    message: /EXPORT_FILE_RESOURCES "0" must be a whole number from 1[\s\S]*EXPORT_CONCURRENCY "many"[\s\S]*EXPORT_RETENTION_SECONDS "1.5"/,
  });
});

t.test('KEYS_RELOAD_SECONDS (60) and PG_POOL_MAX (10) take whole numbers in range and name the variable when wrong', async (t) => {
  const c = loadConfig({});
  t.equal(c.keysReloadSeconds, 60);
  t.equal(c.pgPoolMax, 10);
  t.same([loadConfig({ KEYS_RELOAD_SECONDS: '1', PG_POOL_MAX: '50' })].map((x) => [x.keysReloadSeconds, x.pgPoolMax]), [[1, 50]]);
  for (const bad of ['0', '-1', 'ten', '3601']) t.match(problems({ KEYS_RELOAD_SECONDS: bad }), [/^KEYS_RELOAD_SECONDS ".*" must be a whole number from 1 to 3600/], `KEYS_RELOAD_SECONDS=${bad}`);
  for (const bad of ['0', 'lots', '1.5', '1001']) t.match(problems({ PG_POOL_MAX: bad }), [/^PG_POOL_MAX ".*" must be a whole number from 1 to 1000/], `PG_POOL_MAX=${bad}`);
});
