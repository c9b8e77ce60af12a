import t from 'tap';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { REDIRECT, authorize, fhirGet, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { authorizeInBrowser } from '../helpers/browser-flow.js';

t.test('client authentication and backend services', async (t) => {
  const server = await startSmartServer(t);

  t.test('a confidential client authenticates with client_secret_basic and with client_secret_post', async (t) => {
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      const c = await registerClient(server, { client_name: `Secret ${method}`, redirect_uris: [REDIRECT], token_endpoint_auth_method: method, scope: 'launch/patient patient/*.rs' });
      t.ok(c.client_secret, `${method}: a secret is issued`);
      const auth = method === 'client_secret_basic' ? oidc.ClientSecretBasic(c.client_secret) : oidc.ClientSecretPost(c.client_secret);
      const config = await oidcConfig(server, c.client_id, auth);
      const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
      t.equal(tokens.patient, 'daniel-kim', `${method}: token issued`);
      const wrong = method === 'client_secret_basic'
        ? { headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:wrong`).toString('base64')}` }, body: '' }
        : { headers: {} as Record<string, string>, body: `&client_id=${encodeURIComponent(c.client_id)}&client_secret=wrong` };
      const res = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...wrong.headers }, body: `grant_type=refresh_token&refresh_token=x${wrong.body}` });
      t.equal(res.status, 401, `${method}: a wrong secret is 401`);
      t.equal(((await res.json()) as { error: string }).error, 'invalid_client', `${method}: invalid_client`);
    }
  });

  for (const alg of ['ES384', 'RS384'] as const) {
    t.test(`a confidential asymmetric client authenticates with private_key_jwt ${alg} (inline jwks)`, async (t) => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const jwk = { ...(await exportJWK(publicKey)), kid: `k-${alg}`, alg, use: 'sig' };
      const c = await registerClient(server, { client_name: `JWT ${alg}`, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: alg, jwks: { keys: [jwk] } });
      const config = await oidcConfig(server, c.client_id, oidc.PrivateKeyJwt({ key: privateKey, kid: jwk.kid }));
      const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs offline_access' }, { username: 'daniel', password: 'smart-demo' });
      t.equal(tokens.patient, 'daniel-kim');
      t.ok(tokens.refresh_token);
    });
  }

  t.test('backend services: client_credentials with private_key_jwt from a jwks_uri gets system/ scopes only', async (t) => {
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'backend-1', alg: 'ES384', use: 'sig' };
    const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    t.teardown(() => jwksServer.close());
    const jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
    const c = await registerClient(server, {
      client_name: 'Population Health',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES384',
      jwks_uri: jwksUri,
      scope: 'system/*.rs',
    });
    const config = await oidcConfig(server, c.client_id, oidc.PrivateKeyJwt({ key: privateKey, kid: 'backend-1' }));
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'system/Observation.rs system/Patient.read patient/*.rs launch' });
    t.same(tokens.scope!.split(' ').sort(), ['system/Observation.rs', 'system/Patient.read']);
    t.notOk(tokens.refresh_token);
    const all = await fhirGet(server, '/Observation', tokens.access_token);
    t.equal(all.status, 200);
    t.equal(all.body.total, 8, 'system scope sees every patient');
    t.equal((await fhirGet(server, '/AllergyIntolerance', tokens.access_token)).status, 403);

    t.test('a replayed client assertion (same jti) is refused', async (t) => {
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES384', kid: 'backend-1' })
        .setIssuer(c.client_id)
        .setSubject(c.client_id)
        .setAudience(`${server.issuer}/token`)
        .setJti('fixed-jti-123')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      const send = () =>
        fetch(`${server.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/Observation.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
        });
      t.equal((await send()).status, 200);
      const again = await send();
      t.equal(again.status, 401);
      t.equal(((await again.json()) as { error: string }).error, 'invalid_client');
    });
  });

  t.test('an unknown grant_type is 400', async (t) => {
    const res = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password&client_id=demo-patient-app' });
    t.equal(res.status, 400);
  });
});

t.test('EHR launch', async (t) => {
  const server = await startSmartServer(t);
  await server.fhir.update('Encounter', 'enc-1', { resourceType: 'Encounter', id: 'enc-1', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/daniel-kim' } });
  const c = await registerClient(server, { client_name: 'EHR App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', initiate_login_uri: 'https://app.example/launch' });
  const config = await oidcConfig(server, c.client_id);
  const newLaunch = async (body: Record<string, unknown>) => {
    const res = await fetch(`${server.base}/sandbox/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { launch: string; launch_url: string; error?: string } };
  };

  t.test('a launch binds the patient and encounter, and the token response returns them', async (t) => {
    const { status, body } = await newLaunch({ patient: 'daniel-kim', client_id: c.client_id, encounter: 'enc-1' });
    t.equal(status, 201);
    t.match(body.launch_url, new RegExp(`^https://app\\.example/launch\\?iss=${encodeURIComponent(server.fhirBase).replace(/\./g, '\\.')}&launch=`));
    const { tokens } = await authorize(server, config, { scope: 'launch openid fhirUser patient/*.rs', launch: body.launch }, { username: 'dr-lee', password: 'smart-demo' });
    t.equal(tokens.patient, 'daniel-kim');
    t.equal(tokens.encounter, 'enc-1');
    t.same(tokens.fhirContext, [{ reference: 'Encounter/enc-1' }]);
    const encounter = await fhirGet(server, '/Encounter/enc-1', tokens.access_token);
    t.equal(encounter.status, 200, 'the app can read the encounter it was handed');
    t.equal(tokens.need_patient_banner, false);
    t.equal((await fhirGet(server, '/Observation', tokens.access_token)).body.total, 2);

    t.test('a launch value is single use', async (t) => {
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'launch patient/*.rs', launch: body.launch, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'x' });
      const res = await fetch(url, { redirect: 'manual' });
      t.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'invalid_request');
    });
  });

  t.test('launches for unknown patients or clients are refused with a clear error', async (t) => {
    t.equal((await newLaunch({ patient: 'nobody' })).status, 400);
    t.equal((await newLaunch({ patient: 'daniel-kim', client_id: 'no-such-client' })).status, 400);
    t.equal((await newLaunch({})).body.error, 'invalid_request');
  });

  t.test("a launch with an encounter that is not one of the patient's visits is refused, naming the patient's recent ones", async (t) => {
    await server.fhir.update('Encounter', 'enc-maria', { resourceType: 'Encounter', id: 'enc-maria', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/maria-garcia' } });
    const other = await newLaunch({ patient: 'daniel-kim', encounter: 'enc-maria' });
    t.equal(other.status, 400, "another patient's encounter");
    t.match((other.body as { error_description?: string }).error_description, /Encounter\/enc-maria is not one of Patient\/daniel-kim's visits; the most recent are enc-1/);
    t.equal((await newLaunch({ patient: 'daniel-kim', encounter: 'no-such-visit' })).status, 400, 'an encounter that does not exist');
  });

  t.test('a launch issued for another client is refused', async (t) => {
    const { body } = await newLaunch({ patient: 'daniel-kim', client_id: 'demo-patient-app' });
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'launch patient/*.rs', launch: body.launch, code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256', state: 'x' });
    const res = await fetch(url, { redirect: 'manual' });
    t.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'invalid_request');
  });

  t.test('authorize-post: the same request as a form POST works', async (t) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const form = new URLSearchParams({ response_type: 'code', client_id: c.client_id, redirect_uri: REDIRECT, scope: 'launch/patient patient/*.rs', aud: server.fhirBase, state: 'post-state', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const res = await fetch(`${server.issuer}/auth`, { method: 'POST', body: form, redirect: 'manual' });
    t.equal(res.status, 303);
    const flow = await authorizeInBrowser(new URL(res.headers.get('location')!, server.base).toString(), REDIRECT, { username: 'daniel', password: 'smart-demo' });
    t.equal(flow.callback.searchParams.get('state'), 'post-state');
    t.ok(flow.callback.searchParams.get('code'));
  });
});

t.test('clients declared in CLIENTS_FILE are loaded at start; a broken file stops the start with a clear message', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { loadClientsFile } = await import('../../src/auth/clients.js');
  const dir = mkdtempSync(join(tmpdir(), 'clients-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'clients.json');
  writeFileSync(file, JSON.stringify([{ client_id: 'ops-backend', client_name: 'Ops Reporting', client_secret: 'ops-secret-ops-secret-ops-secret-1234', token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'system/Patient.rs' }]));
  const server = await startSmartServer(t, { env: { CLIENTS_FILE: file, SANDBOX: 'false' } });
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'ops-backend', client_secret: 'ops-secret-ops-secret-ops-secret-1234', scope: 'system/Patient.rs system/Observation.rs' }),
  });
  const body = (await res.json()) as { scope: string };
  t.equal(res.status, 200);
  t.equal(body.scope, 'system/Patient.rs', 'the client gets only the scopes its metadata allows');
  writeFileSync(file, '{"not": "an array"}');
  t.throws(() => loadClientsFile(file), /CLIENTS_FILE .* must hold a JSON array/);
  writeFileSync(file, 'nope');
  t.throws(() => loadClientsFile(file), /could not be read as JSON/);
});
