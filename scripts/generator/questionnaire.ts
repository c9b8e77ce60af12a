// A depression screen (PHQ-2) answered by each adult at their latest physical, as a
// QuestionnaireResponse (US Core 6.1) with LOINC item and answer codes and the total score.
import type { QuestionnaireResponse } from 'fhir/r4.js';
import type { RecordContext } from './record-context.js';
import { stream } from './record-context.js';
import { PROFILE, SYSTEM, coding } from './terminology.js';
import { formatDateTime } from './time.js';

const PHQ2_QUESTIONNAIRE = 'http://loinc.org/q/55757-9';

const ANSWERS = [
  coding(SYSTEM.loinc, 'LA6568-5', 'Not at all'),
  coding(SYSTEM.loinc, 'LA6569-3', 'Several days'),
  coding(SYSTEM.loinc, 'LA6570-1', 'More than half the days'),
  coding(SYSTEM.loinc, 'LA6571-9', 'Nearly every day'),
] as const;

const QUESTIONS = [
  { linkId: '/44250-9', text: 'Little interest or pleasure in doing things' },
  { linkId: '/44255-8', text: 'Feeling down, depressed, or hopeless' },
] as const;

export function phq2(ctx: RecordContext): QuestionnaireResponse | undefined {
  const physicals = ctx.visits.filter((v) => v.visit.kind === 'wellness' && v.age >= 18);
  const v = physicals[physicals.length - 1];
  if (!v) return undefined;
  const rng = stream(ctx, 'phq-2', v.visit.key);
  const scores = QUESTIONS.map(() => rng.weighted<number>([[0, 78], [1, 16], [2, 4], [3, 2]]));
  const total = scores.reduce((a, b) => a + b, 0);
  return {
    resourceType: 'QuestionnaireResponse',
    id: rng.uuid(),
    meta: { profile: [PROFILE.questionnaireResponse] },
    questionnaire: PHQ2_QUESTIONNAIRE,
    status: 'completed',
    subject: ctx.subject,
    encounter: v.encounter,
    authored: formatDateTime(v.visit.day, v.visit.minute + 3, ctx.zone),
    author: ctx.subject,
    source: ctx.subject,
    item: [
      ...QUESTIONS.map((q, i) => ({ linkId: q.linkId, text: `Over the last 2 weeks, how often have you been bothered by: ${q.text.toLowerCase()}?`, answer: [{ valueCoding: ANSWERS[scores[i] ?? 0] }] })),
      { linkId: '/55758-7', text: 'Patient Health Questionnaire 2 item (PHQ-2) total score', answer: [{ valueInteger: total }] },
    ],
  };
}
