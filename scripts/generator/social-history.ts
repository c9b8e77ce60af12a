// Tobacco smoking status (US Core smokingstatus), asked at adult annual visits. A former smoker
// is reported as a daily smoker on visits before the quit date, so the series tells the story.
import type { Observation } from 'fhir/r4.js';
import { codedObservation } from './observation.js';
import { PROFILE, SYSTEM, concept } from './terminology.js';
import type { VisitContext } from './visit.js';

const SMOKING_STATUS = { loinc: '72166-2', display: 'Tobacco smoking status', text: 'Tobacco smoking status' } as const;

const ANSWER = {
  never: { code: '266919005', display: 'Never smoked tobacco' },
  former: { code: '8517006', display: 'Ex-smoker' },
  daily: { code: '449868002', display: 'Smokes tobacco daily' },
} as const;

export function smokingStatus(ctx: VisitContext): Observation[] {
  const { profile, visit, rng, subject, encounter, effective } = ctx;
  let answer: { code: string; display: string };
  switch (profile.smoking.status) {
    case 'never':
      answer = ANSWER.never;
      break;
    case 'current':
      answer = ANSWER.daily;
      break;
    case 'former':
      answer = visit.day < profile.smoking.quitDay ? ANSWER.daily : ANSWER.former;
      break;
  }
  return [
    codedObservation(
      { id: rng.uuid(), profile: PROFILE.smoking, category: 'social-history', code: SMOKING_STATUS, subject, encounter, effective },
      concept(SYSTEM.snomed, answer.code, answer.display, answer.display),
    ),
  ];
}
