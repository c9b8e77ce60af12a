// A tiny SMART app made only of the official `fhirclient` browser bundle (unchanged, from node_modules) and two
// pages, served from its own loopback origin so every call to our server is a real cross-origin request:
//   launch.html  FHIR.oauth2.authorize(): standalone when opened with ?iss=, EHR launch when opened with ?iss=&launch=
//   index.html   the redirect: FHIR.oauth2.ready(), then the patient and a lab search, written into the page.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';

export interface FhirclientApp {
  readonly origin: string;
  readonly launchUrl: string;
  readonly redirectUri: string;
  /** The client the pages authorize as: known only after registration, which needs the URLs above. */
  use(client: { readonly clientId: string; readonly scope: string }): void;
}

const bundlePath = join(dirname(createRequire(import.meta.url).resolve('fhirclient/package.json')), 'build', 'fhir-client.js');

const page = (title: string, script: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:1rem;max-width:40rem}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem}.error{color:#a00}</style>
<script src="fhir-client.js"></script></head>
<body><h1>${title}</h1><main id="out"><p id="status">Working…</p></main>
<script>${script}</script></body></html>`;

// Shows what went wrong instead of a blank page; the test reads #status and window.smartError.
const FAIL = `function fail(e) {
  window.smartError = String(e && e.message || e);
  var s = document.getElementById('status'); s.className = 'error'; s.textContent = 'Error: ' + window.smartError;
}`;

const launchPage = (config: string) =>
  page(
    'fhirclient test app: launch',
    `${FAIL}
var config = ${config};
// iss (and launch, for an EHR launch) come from this page's URL; fhirclient reads them itself.
FHIR.oauth2.authorize({ clientId: config.clientId, scope: config.scope, redirectUri: 'index.html' }).catch(fail);`,
  );

const INDEX = page(
  'fhirclient test app',
  `${FAIL}
function show(label, text, id) {
  var h = document.createElement('h2'); h.textContent = label;
  var p = document.createElement('pre'); p.id = id; p.textContent = text;
  document.getElementById('out').append(h, p);
}
FHIR.oauth2.ready().then(async function (client) {
  var patient = await client.request('Patient/' + client.patient.id);
  var labs = await client.request('Observation?patient=' + encodeURIComponent(client.patient.id) + '&category=laboratory');
  var tr = client.state.tokenResponse;
  // The test drives the client further (refresh) and checks what the app saw; tokens stay out of the page text.
  window.smartClient = client;
  window.smartResult = { patient: patient, labs: labs, fhirUser: client.user.fhirUser, tokenResponse: Object.assign({}, tr, { access_token: undefined, refresh_token: undefined, id_token: undefined }), hasRefreshToken: !!tr.refresh_token, accessToken: tr.access_token };
  document.getElementById('status').textContent = 'Connected.';
  var name = (patient.name || [])[0] || {};
  show('Patient', (name.given || []).join(' ') + ' ' + (name.family || '') + ' (Patient/' + patient.id + ')', 'patient');
  show('Lab results', (labs.entry || []).map(function (e) {
    var o = e.resource, c = (o.code.coding || [])[0] || {};
    return o.id + ': ' + (c.display || c.system + '|' + c.code) + ' (' + o.status + ', ' + (o.effectiveDateTime || '') + ')';
  }).join('\\n') || 'none', 'labs');
  show('Token response', 'patient: ' + tr.patient + '\\nuser (id_token fhirUser): ' + client.user.fhirUser + '\\nscope: ' + tr.scope + '\\nneed_patient_banner: ' + tr.need_patient_banner + '\\nrefresh token: ' + (tr.refresh_token ? 'yes' : 'no'), 'token');
}).catch(fail);`,
);

export async function startFhirclientApp(t: Test): Promise<FhirclientApp> {
  const bundle = readFileSync(bundlePath);
  let config = 'null';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (type: string, body: string | Buffer) => res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    if (path === '/fhir-client.js') return send('text/javascript; charset=utf-8', bundle);
    if (path === '/launch.html') return send('text/html; charset=utf-8', launchPage(config));
    if (path === '/index.html') return send('text/html; charset=utf-8', INDEX);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    origin,
    launchUrl: `${origin}/launch.html`,
    redirectUri: `${origin}/index.html`,
    use(client) {
      // JSON of two strings inside a script: escape '<' so nothing can close the element.
      config = JSON.stringify(client).replace(/</g, '\\u003c');
    },
  };
}
