// A loopback load balancer for tests of several server instances behind one address: each request (not each
// connection) goes to the next instance in turn, as a round-robin balancer without sticky sessions would send it,
// with the Host header kept (so every instance sees the one public origin). A request may name its instance with
// the `x-test-instance` header instead. Every request is recorded with the instance that answered it.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const PIN = 'x-test-instance';

export interface Routed {
  readonly method: string;
  readonly path: string;
  readonly instance: number;
  readonly status: number;
}

export interface LoadBalancer {
  /** http://127.0.0.1:<port>: the PUBLIC_URL of every instance */
  readonly base: string;
  readonly routed: Routed[];
  /** The instance ports, set once the instances are known (the balancer must listen first: its address is their PUBLIC_URL) */
  setInstances(ports: readonly number[]): void;
  close(): Promise<void>;
}

export async function startLoadBalancer(): Promise<LoadBalancer> {
  let ports: readonly number[] = [];
  let next = 0;
  const routed: Routed[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const pinned = req.headers[PIN];
    const instance = pinned !== undefined ? Number(pinned) : next++ % ports.length;
    const headers = { ...req.headers };
    delete headers[PIN];
    const upstream = request({ host: '127.0.0.1', port: ports[instance], method: req.method, path: req.url, headers, agent: false }, (up) => {
      routed.push({ method: req.method ?? 'GET', path: req.url ?? '', instance, status: up.statusCode ?? 0 });
      res.writeHead(up.statusCode ?? 502, up.rawHeaders);
      up.pipe(res);
    });
    upstream.on('error', () => {
      routed.push({ method: req.method ?? 'GET', path: req.url ?? '', instance, status: 502 });
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    routed,
    setInstances: (p) => (ports = p),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
