// TRUST_PROXY: behind a reverse proxy the per-address limits must count the client's address, which only a trusted
// proxy may name in X-Forwarded-For; anyone else's header is ignored.
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { configProblems } from '../helpers/config-problems.js';
import { startTestApp } from '../helpers/app.js';

const problems = configProblems;

t.test('TRUST_PROXY is off by default and takes true, a hop count, or addresses and CIDRs', async (t) => {
  t.equal(loadConfig({}).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback,::1' }).trustProxy, ['10.0.0.0/8', 'loopback', '::1']);
  for (const bad of ['0', '11', 'yes', '10.0.0.0/8;evil', 'proxy.example.com']) t.match(problems({ TRUST_PROXY: bad }), [/^TRUST_PROXY ".*" must be false, true, a hop count/], bad);
});

// Three sign-in posts from one client address, then one from another; inject's peer is 127.0.0.1 (the "proxy").
async function signInStatuses(env: Record<string, string>): Promise<number[]> {
  const app = await startTestApp(t, { SIGNIN_RATE_LIMIT: '2', ...env }, { auth: true });
  const post = (client: string) =>
    app.server.inject({ method: 'POST', url: '/portal/login', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client }, payload: 'username=nobody&password=wrong-password-1' });
  const statuses: number[] = [];
  for (const client of ['203.0.113.7', '203.0.113.7', '203.0.113.7', '198.51.100.9']) statuses.push((await post(client)).statusCode);
  return statuses;
}

t.test('with the proxy trusted, each client address behind it has its own sign-in limit', async (t) => {
  const statuses = await signInStatuses({ TRUST_PROXY: 'loopback' });
  t.not(statuses[1], 429, 'the second post is within the limit');
  t.equal(statuses[2], 429, 'the third post from the same client is refused');
  t.not(statuses[3], 429, 'another client behind the same proxy is not');
});

t.test('without trust, X-Forwarded-For is ignored: every post counts against the peer', async (t) => {
  const statuses = await signInStatuses({});
  t.equal(statuses[2], 429);
  t.equal(statuses[3], 429, 'a forged X-Forwarded-For does not buy a fresh limit');
});
