// The HTTP limit: a bare Fastify route that returns fixed bytes (the same body and headers as a FHIR read), in its
// own process, or in several worker processes sharing the port (the same layout as the server's WORKERS setting).
import cluster from 'node:cluster';
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';

const [bodyFile, headersFile, port, workers = '1'] = process.argv.slice(2) as [string, string, string, string?];
if (Number(workers) > 1 && cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < Number(workers); i++) {
    cluster.fork().once('message', () => {
      if (++ready === Number(workers)) process.send?.('ready');
    });
  }
  process.on('SIGTERM', () => process.exit(0));
} else {
  const body = readFileSync(bodyFile, 'utf8');
  const headers = JSON.parse(readFileSync(headersFile, 'utf8')) as Record<string, string>;
  const app = Fastify({ logger: false });
  app.get('/fhir/Observation/:id', async (_req, reply) => reply.headers(headers).send(body));
  await app.listen({ port: Number(port), host: '127.0.0.1' });
  process.send?.('ready');
  process.on('SIGINT', () => process.exit(0));
}
