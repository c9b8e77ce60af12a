// The HTTP limit: a bare Fastify route that returns fixed bytes (the same bytes as a FHIR read), in its own process.
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';

const [bodyFile, contentType, port] = process.argv.slice(2) as [string, string, string];
const body = readFileSync(bodyFile, 'utf8');
const app = Fastify({ logger: false });
app.get('/fhir/Observation/:id', async (_req, reply) => reply.header('content-type', contentType).send(body));
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.send?.('ready');
process.on('SIGINT', () => process.exit(0));
