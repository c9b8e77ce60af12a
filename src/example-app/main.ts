// `npm run example-app`: the example SMART app on http://localhost:8081, for the FHIR server of `npm start`.
// Settings: PORT, FHIR_BASE_URL, CLIENT_ID, CLIENT_SECRET, PUBLIC_URL (see config.ts).
import { buildExampleApp } from './app.js';
import { loadExampleAppConfig, type ExampleAppConfig } from './config.js';
import { discoverSmart, type SmartEndpoints } from './smart-oauth.js';

let config: ExampleAppConfig;
try {
  config = loadExampleAppConfig(process.env);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}

/** The FHIR server may still be starting (both commands run at once): wait for its discovery document. */
async function discoverWhenUp(): Promise<SmartEndpoints> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await discoverSmart(config.fhirBaseUrl);
    } catch (err) {
      // An answer that is not a usable smart-configuration will not get better by waiting.
      if ((err as { response?: unknown }).response !== undefined || !(err instanceof TypeError)) throw err;
      if (attempt === 0) console.log(`Waiting for the FHIR server at ${config.fhirBaseUrl} (start it with npm start) ...`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

let endpoints: SmartEndpoints;
try {
  endpoints = await discoverWhenUp();
} catch (err) {
  console.error(`${config.fhirBaseUrl} is not a SMART server this app can use: ${(err as Error).message}`);
  process.exit(1);
}
const app = await buildExampleApp({
  fhirBaseUrl: config.fhirBaseUrl,
  publicUrl: config.publicUrl,
  clientId: config.clientId,
  ...(config.clientSecret ? { clientSecret: config.clientSecret } : {}),
  endpoints,
  // Request lines without the query string: /callback receives the authorization code and state there.
  logger: { level: process.env.LOG_LEVEL ?? 'info', serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.split('?')[0] }) } },
});
await app.listen({ port: config.port, host: 'localhost' });
console.log(`Example Lab Viewer: ${config.publicUrl} (FHIR server ${config.fhirBaseUrl}, client_id ${config.clientId})`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
