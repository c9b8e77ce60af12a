// Types outside the patient compartment: directories and definitions are shared by every record and readable by a
// patient-facing token that names them; types that hold one person's data outside the compartment (Task, Binary,
// GuidanceResponse, ...) or many patients' (Group) cannot be limited to the token's record, so patient-facing tokens
// get none of them, even with patient/*.rs.
import t from 'tap';
import { REDIRECT, authorize, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';

t.test('what a patient-facing token reaches outside the compartment', async (t) => {
  const server = await startSmartServer(t);
  await server.fhir.update('Practitioner', 'pr-1', { resourceType: 'Practitioner', id: 'pr-1', name: [{ family: 'Lee' }] });
  await server.fhir.update('ValueSet', 'vs-1', { resourceType: 'ValueSet', id: 'vs-1', status: 'active', url: 'http://example.org/vs' });
  await server.fhir.update('Task', 'task-maria', { resourceType: 'Task', id: 'task-maria', status: 'requested', intent: 'order', for: { reference: 'Patient/maria-garcia' } });
  await server.fhir.update('Group', 'cohort', { resourceType: 'Group', id: 'cohort', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/daniel-kim' } }, { entity: { reference: 'Patient/maria-garcia' } }] });
  await server.fhir.update('Binary', 'bin-1', { resourceType: 'Binary', id: 'bin-1', contentType: 'text/plain', data: Buffer.from("Maria's note").toString('base64') });

  const scope = 'launch/patient patient/*.rs';
  const client = await registerClient(server, { client_name: 'Shared', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], scope });
  const config = await oidcConfig(server, client.client_id);
  const { tokens } = await authorize(server, config, { scope }, { username: 'daniel', password: 'smart-demo' });
  const get = async (path: string) => {
    const res = await fetch(`${server.fhirBase}${path}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    return { status: res.status, body: (await res.json()) as { entry?: { resource: { id: string } }[]; issue?: { diagnostics: string }[] } };
  };
  t.equal((await get('/Practitioner/pr-1')).status, 200, 'a directory type is readable');
  t.equal((await get('/ValueSet/vs-1')).status, 200, 'a definition is readable');
  const task = await get('/Task/task-maria');
  t.equal(task.status, 403, "someone's Task is not readable with patient/*.rs");
  t.match(task.body.issue?.[0]?.diagnostics, /Task is outside the patient compartment yet holds one person's data/);
  t.equal((await get('/Task')).status, 403, 'nor searchable');
  t.equal((await get('/Binary/bin-1')).status, 403, 'nor a Binary');
  const group = await get('/Group/cohort');
  t.equal(group.status, 403, "a Group naming Daniel and Maria is not Daniel's to read (it would show Maria)");
  t.equal((await server.fhir.store.read('Group', 'cohort'))?.patientId, null, 'and it is in no compartment');

  const system = await server.fhir.read('Task', 'task-maria');
  t.equal(system.id, 'task-maria', 'the store still serves it to unrestricted (system) callers');
});
