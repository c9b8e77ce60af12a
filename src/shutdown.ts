// Graceful shutdown of a serving process (src/main.ts; each WORKERS process runs the same): on SIGTERM or SIGINT it
// stops accepting connections, lets the requests under way finish, then closes the app (running exports are handed
// back to the queue, the audit buffer and the security log are flushed: Fastify's onClose hooks in app.ts) and the
// database, and exits 0. Past the deadline it exits 1 with a log line saying what was still open.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import cluster from 'node:cluster';
import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { loggableUrl } from './logging.js';

interface OpenRequest {
  readonly method: string;
  readonly url: string;
  readonly since: number;
}

/**
 * A connection accepted a moment ago whose request has not been read yet looks idle to Node, and closing idle
 * connections (http.Server#close does) would reset it: the shutdown waits until every connection has either served
 * a request or stayed silent this long.
 */
const SETTLE_MS = 100;

/** The listening socket stays open at least this long after the signal, then until no connection has come for
 *  DRAIN_GAP_MS, at most DRAIN_MAX_MS (or half the deadline). */
const DRAIN_MIN_MS = 250;
const DRAIN_GAP_MS = 50;
const DRAIN_MAX_MS = 1_000;

interface Connection {
  readonly acceptedAt: number;
  /** Requests being answered on it */
  open: number;
  served: boolean;
}

/**
 * The connections and requests of this process: for the deadline's log line, and so that the drain closes each
 * connection as soon as it has nothing to answer. While draining, every response closes its connection, so a
 * keep-alive client opens its next one elsewhere instead of finding this one closed under it.
 */
export function trackRequests(http: Server) {
  const requests = new Map<OpenRequest, ServerResponse>();
  const connections = new Map<Socket, Connection>();
  let draining = false;
  let lastAccepted = 0;
  http.on('connection', (socket: Socket) => {
    lastAccepted = Date.now();
    connections.set(socket, { acceptedAt: lastAccepted, open: 0, served: false });
    socket.once('close', () => connections.delete(socket));
  });
  // Before Fastify's own listener: a response Fastify ends at once (its 503 while closing) also closes.
  http.prependListener('request', (req, res) => {
    if (draining) res.shouldKeepAlive = false;
    const entry = { method: req.method ?? '', url: loggableUrl(req.url ?? ''), since: Date.now() };
    requests.set(entry, res);
    const conn = connections.get(req.socket);
    if (conn) {
      conn.open++;
      conn.served = true;
    }
    res.once('close', () => {
      requests.delete(entry);
      if (!conn) return;
      conn.open--;
      // A response whose headers went out before the drain kept its connection alive: end it now it is done.
      if (draining && conn.open === 0) req.socket.end();
    });
  });
  return {
    open: (): OpenRequest[] => [...requests.keys()],
    connections: () => connections.size,
    drain(): void {
      draining = true;
      for (const res of requests.values()) if (!res.headersSent) res.shouldKeepAlive = false;
      // Idle keep-alive connections have nothing more to answer.
      for (const [socket, conn] of connections) if (conn.served && conn.open === 0) socket.end();
    },
    /**
     * Resolves when the listening socket may close without resetting a connection the kernel has already completed
     * but this process has not yet accepted (closing the socket resets those: measured, requests sent 40-200 ms
     * earlier to a busy server): after `minMs`, once no connection has come for `gapMs`, or at `maxMs`.
     */
    async lastConnections(o: { minMs: number; gapMs: number; maxMs: number }): Promise<void> {
      const from = Date.now();
      const done = () => Date.now() - from >= o.maxMs || (Date.now() - from >= o.minMs && Date.now() - lastAccepted >= o.gapMs);
      while (!done()) await new Promise((r) => setTimeout(r, 10));
    },
    /** Resolves once no request is under way and no connection accepted in the last SETTLE_MS is still to be read. */
    async quiet(): Promise<void> {
      const busy = () => [...connections.values()].some((c) => c.open > 0 || (!c.served && Date.now() - c.acceptedAt < SETTLE_MS));
      while (busy()) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

export interface ShutdownOptions {
  readonly server: FastifyInstance;
  readonly requests: ReturnType<typeof trackRequests>;
  /** Closes what the app does not (the database) */
  readonly close: () => Promise<void>;
  readonly timeoutMs: number;
  readonly log: FastifyBaseLogger;
}

/** The signal handler: the first signal starts the shutdown; in a single process a second one exits at once (non-zero). */
export function gracefulShutdown(opts: ShutdownOptions): (signal: NodeJS.Signals) => void {
  const { server, requests, log } = opts;
  let started = 0;
  let step = '';
  return (signal) => {
    if (started) {
      // A worker gets the signal twice from a terminal's Ctrl-C: its own and the one its primary passes on.
      if (cluster.isWorker) return;
      log.error({ signal, step, openRequests: requests.open().length }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    started = Date.now();
    log.info({ signal, timeoutSeconds: opts.timeoutMs / 1000, openRequests: requests.open().length }, 'shutting down: closing connections as their requests finish');
    setTimeout(() => {
      const open = requests.open().map((r) => ({ method: r.method, url: r.url, openMs: Date.now() - r.since }));
      log.error({ step, openRequests: open }, `shutdown did not finish within ${opts.timeoutMs / 1000} s (${step}; ${open.length} request(s) still open): exiting`);
      process.exit(1);
    }, opts.timeoutMs);

    void (async () => {
      requests.drain();
      // Connections that reached the kernel before the signal are accepted and answered (with Connection: close);
      // a load balancer sees this instance closing connections and stops sending.
      step = 'accepting the connections already made';
      await requests.lastConnections({ minMs: DRAIN_MIN_MS, gapMs: DRAIN_GAP_MS, maxMs: Math.min(DRAIN_MAX_MS, opts.timeoutMs / 2) });
      step = 'closing the listener';
      // The listening socket only: http.Server#close would also close the connections that look idle, among them
      // ones accepted a moment ago whose request is on its way.
      NetServer.prototype.close.call(server.server);
      step = 'finishing the requests under way';
      await requests.quiet();
      step = 'closing the app: exports handed back, audit trail flushed';
      // Closes the connections left (silent ones), then the onClose hooks: running exports handed back to the queue,
      // the audit buffer and the security log flushed.
      await server.close();
      step = 'closing the database';
      await opts.close();
      log.info({ ms: Date.now() - started }, 'shut down');
      process.exit(0);
    })().catch((err: unknown) => {
      log.error({ err, step }, 'shutdown failed');
      process.exit(1);
    });
  };
}
