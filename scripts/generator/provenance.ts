// Where the record came from (US Core 6.1 Provenance): one per patient, naming the practice as
// author and transmitter of the Patient and of the problem list, allergies and prescriptions.
import type { Provenance, Reference } from 'fhir/r4.js';
import type { RecordContext } from './record-context.js';
import { stream } from './record-context.js';
import { PROFILE, SYSTEM, concept } from './terminology.js';
import { ANCHOR_DAY, formatDateTime } from './time.js';

export function recordProvenance(ctx: RecordContext, targets: readonly Reference[]): Provenance {
  const rng = stream(ctx, 'provenance');
  const org = ctx.practice.organization;
  return {
    resourceType: 'Provenance',
    id: rng.uuid(),
    meta: { profile: [PROFILE.provenance] },
    target: [...targets],
    // The last reconciliation of the chart, the evening before the anchor date.
    recorded: formatDateTime(ANCHOR_DAY - 1, 1140 + rng.int(0, 59), ctx.zone),
    agent: [
      { type: concept(SYSTEM.provenanceParticipant, 'author', 'Author'), who: org },
      { type: concept(SYSTEM.usCoreProvenanceParticipant, 'transmitter', 'Transmitter'), who: org },
    ],
  };
}
