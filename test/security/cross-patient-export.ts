// Bulk export in the cross-patient property test: what each backend token exports, checked line by line against
// the model, and what patient-facing tokens get of it (nothing).
import { download, poll, type Manifest } from '../helpers/bulk-client.js';
import { WORLD_TYPES, current, type TokenModel } from './cross-patient-model.js';
import type { Harness, World } from './cross-patient-world.js';

export interface ExportStats {
  jobs: number;
  lines: number;
  refusedKickOffs: number;
}

/**
 * Bulk export with each backend token: every NDJSON line is a resource the token may search, and every such resource
 * is in the files; a Group export holds only its members' records. Patient-facing tokens are refused at kick-off and
 * cannot read another client's status or files. Quick mode exports with the world's first backend token only.
 */
export async function exportChecks(h: Harness, world: World, index: number, long: boolean, stats: ExportStats): Promise<string[]> {
  const problems: string[] = [];
  const backend = world.tokens.filter((x) => x.backend);
  const users = world.tokens.filter((x) => !x.backend);
  const check = (tk: TokenModel, byType: Map<string, Record<string, unknown>[]>, members: ReadonlySet<string> | undefined, where: string) => {
    for (const [type, lines] of byType) {
      for (const r of lines) {
        stats.lines++;
        const v = h.model.version(type, String(r.id), Number((r.meta as { versionId?: string } | undefined)?.versionId));
        if (!v) problems.push(`${where}: ${type}/${String(r.id)} is not in the world`);
        else if (!h.model.allows(tk, type, v, 's')) problems.push(`${where}: ${type}/${String(r.id)} is outside ${tk.label}`);
        else if (members && type !== 'Patient' && ![...v.compartments].some((p) => members.has(p))) problems.push(`${where}: ${type}/${String(r.id)} is in no member's record (${[...v.compartments].join(', ')})`);
        else if (members && type === 'Patient' && !members.has(String(r.id))) problems.push(`${where}: Patient/${String(r.id)} is not a member`);
      }
    }
  };
  const lenient = { prefer: 'respond-async, handling=lenient' };
  const run = async (tk: TokenModel, path: string, members?: ReadonlySet<string>) => {
    const kick = await fetch(`${h.server.fhirBase}${path}`, { headers: { accept: 'application/fhir+json', ...lenient, authorization: `Bearer ${tk.accessToken}` } });
    if (kick.status !== 202) {
      await kick.arrayBuffer();
      // A token that may search none of the types exports nothing: a 4xx, never a file.
      if (kick.status >= 500) problems.push(`${path}: kick-off ${kick.status}`);
      return undefined;
    }
    await kick.arrayBuffer();
    stats.jobs++;
    const statusUrl = kick.headers.get('content-location')!;
    const { manifest, byType } = await pollAndDownload(statusUrl, tk.accessToken);
    check(tk, byType, members, path);
    return { statusUrl, manifest, byType };
  };
  // Quick mode: the world's first backend token, a system-level export and a Group or a Patient one (by turns).
  for (const [n, tk] of (long ? backend : backend.slice(0, 1)).entries()) {
    const all = await run(tk, '/$export');
    if (all) {
      // Complete: every resource the token may search is in the files (nothing is written while this runs).
      for (const type of WORLD_TYPES) {
        const expected = h.model.all(type).filter((r) => !current(r).deleted && h.model.allows(tk, type, current(r), 's')).map((r) => r.id);
        const got = new Set((all.byType.get(type) ?? []).map((r) => String(r.id)));
        const missing = expected.filter((id) => !got.has(id));
        if (missing.length) problems.push(`/$export with ${tk.label}: ${type} ${missing.slice(0, 5).join(', ')} left out`);
      }
      // Another client's token (a patient's or a user's) gets nothing of this job.
      for (const u of users.slice(0, 2)) {
        const s = await fetch(all.statusUrl, { headers: { authorization: `Bearer ${u.accessToken}` } });
        await s.arrayBuffer();
        if (s.status === 200) problems.push(`export status answered ${u.label}`);
        for (const o of all.manifest.output.slice(0, 2)) {
          const f = await fetch(o.url, { headers: { authorization: `Bearer ${u.accessToken}` } });
          await f.arrayBuffer();
          if (f.status === 200 || f.status === 206) problems.push(`export file ${o.url} answered ${u.label}`);
        }
      }
      await fetch(all.statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${tk.accessToken}` } }).then((r) => r.arrayBuffer());
    }
    const turn = index + n;
    if (long || turn % 2 === 0) {
      const group = await run(tk, `/Group/${world.group.id}/$export`, new Set(world.group.members));
      if (group) await fetch(group.statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${tk.accessToken}` } }).then((r) => r.arrayBuffer());
    }
    if (long || turn % 2 === 1) {
      const patients = await run(tk, `/Patient/$export?_type=Patient,Observation,Coverage,Provenance`);
      if (patients) await fetch(patients.statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${tk.accessToken}` } }).then((r) => r.arrayBuffer());
    }
  }
  for (const u of long ? users : users.slice(0, 3)) {
    for (const path of ['/$export', `/Group/${world.group.id}/$export`, '/Patient/$export']) {
      const kick = await fetch(`${h.server.fhirBase}${path}`, { headers: { accept: 'application/fhir+json', prefer: 'respond-async', authorization: `Bearer ${u.accessToken}` } });
      await kick.arrayBuffer();
      if (kick.status === 202) problems.push(`${path} kick-off accepted ${u.label}`);
      else stats.refusedKickOffs++;
    }
  }
  return problems;
}

async function pollAndDownload(statusUrl: string, token: string): Promise<{ manifest: Manifest; byType: Map<string, Record<string, unknown>[]> }> {
  const result = await poll(statusUrl, token, { maxWaitMs: 100, timeoutMs: 60_000 });
  if (!result.manifest) throw new Error(`export ended with ${result.status}: ${JSON.stringify(result.body)}`);
  const byType = new Map<string, Record<string, unknown>[]>();
  for (const o of result.manifest.output) byType.set(o.type, [...(byType.get(o.type) ?? []), ...(await download(o.url, token)).lines]);
  return { manifest: result.manifest, byType };
}
