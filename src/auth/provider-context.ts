// oidc-provider keeps each of its requests' Koa context in an AsyncLocalStorage (`als.run` in its router). On the
// Node versions without AsyncContextFrame (20 and 22), an enabled AsyncLocalStorage installs a promise hook for the
// whole process: from the first /auth request on, every promise of every FHIR request paid for it (measured: a FHIR
// read cost 11-15 µs of CPU more, about 13 %, on a server that had issued one token than on one that had not).
// The provider reads that storage only while one of its own requests runs, so we switch it off whenever none is in
// flight; its next request switches it on again (`run` enables it).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AsyncLocalStorage } from 'node:async_hooks';
// Not part of oidc-provider's documented API, hence the test in test/auth/provider-context.test.ts that pins what
// we rely on: this module is the storage its router runs each request in.
import providerStorage from 'oidc-provider/lib/helpers/als.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Wraps the provider's request handler so its AsyncLocalStorage is enabled only while it has requests in flight. */
export function withProviderContextReleased(handler: Handler, storage: AsyncLocalStorage<unknown> = providerStorage): Handler {
  let inFlight = 0;
  return (req, res) => {
    inFlight++;
    res.once('close', () => {
      // 'close' fires once per response, whether it finished or the client went away.
      if (--inFlight === 0) storage.disable();
    });
    return handler(req, res);
  };
}
