import t from 'tap';
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import providerStorage from 'oidc-provider/lib/helpers/als.js';
import { withProviderContextReleased } from '../../src/auth/provider-context.js';
import { startSmartServer } from '../helpers/smart-server.js';

const BACKEND = `Basic ${Buffer.from('demo-backend:demo-backend-secret-change-me').toString('base64')}`;

t.test('the storage oidc-provider runs a request in is switched off once the response is sent', async (t) => {
  const server = await startSmartServer(t, { seed: false });
  let seen: unknown = 'not called';
  let ctx: unknown;
  // Pins the internal module we import: while the provider handles a token request, it holds that request's context.
  server.auth!.provider.once('grant.success', (c: unknown) => {
    ctx = c;
    seen = providerStorage.getStore();
  });
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { authorization: BACKEND, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=system%2F*.rs',
  });
  t.equal(res.status, 200, 'the token request succeeds');
  t.ok(ctx, 'the provider reported the grant');
  t.equal(seen, ctx, "during the request the imported storage holds the provider's request context");
  // Node versions whose AsyncLocalStorage is built on async hooks expose whether it is enabled.
  const enabled = (providerStorage as unknown as { enabled?: boolean }).enabled;
  if (enabled !== undefined) t.equal(enabled, false, 'after the response no promise hook is left installed');
});

t.test('the storage stays on while any provider request is in flight and goes off after the last one', async (t) => {
  const storage = new AsyncLocalStorage<unknown>();
  let disabled = 0;
  const disable = storage.disable.bind(storage);
  storage.disable = () => {
    disabled++;
    disable();
  };
  const handled: string[] = [];
  const wrapped = withProviderContextReleased((req) => handled.push(String(req.url)), storage);
  const response = () => new EventEmitter() as unknown as ServerResponse;
  const [a, b] = [response(), response()];
  wrapped({ url: '/a' } as IncomingMessage, a);
  wrapped({ url: '/b' } as IncomingMessage, b);
  t.same(handled, ['/a', '/b'], 'every request reaches the provider');
  a.emit('close');
  t.equal(disabled, 0, 'one request still in flight: left on');
  b.emit('close');
  t.equal(disabled, 1, 'the last response closed: switched off');
  const c = response();
  wrapped({ url: '/c' } as IncomingMessage, c);
  c.emit('close');
  t.equal(disabled, 2, 'a later request is counted afresh');
});
