// Care coordination (US Core 6.1): the patient's primary care team (CareTeam), a goal per problem
// that has one (Goal, with a measurable target where there is a lab or vital sign to aim at, and
// whether the latest result meets it), and an assessment-and-plan CarePlan tying problems, goals
// and team together for anyone with a problem on the list.
import type { CarePlan, CareTeam, Goal, Reference } from 'fhir/r4.js';
import type { ProblemKey } from './conditions.js';
import type { Clinician } from './practice.js';
import type { Problem, RecordContext } from './record-context.js';
import { latestValue, stream } from './record-context.js';
import { PROFILE, SYSTEM, coding, concept } from './terminology.js';
import { ANCHOR_DAY, exactAge, isoFromDay } from './time.js';

type GoalTarget = NonNullable<Goal['target']>[number];

interface GoalDraft {
  readonly description: string;
  readonly targets: readonly Omit<GoalTarget, 'dueDate'>[];
  /** Whether the latest result meets the target; undefined when there is nothing to measure. */
  readonly achieved?: boolean;
  /** What the plan does about the problem (CarePlan activity). */
  readonly plan: string;
}

function quantityTarget(loinc: string, display: string, comparator: '<' | '<=' | '>=' | '>' | undefined, value: number, unit: string, ucum: string): Omit<GoalTarget, 'dueDate'> {
  return {
    measure: concept(SYSTEM.loinc, loinc, display),
    detailQuantity: { value, ...(comparator ? { comparator } : {}), unit, system: SYSTEM.ucum, code: ucum },
  };
}

function draftGoal(ctx: RecordContext, key: ProblemKey): GoalDraft | undefined {
  const latest = (loinc: string): number | undefined => latestValue(ctx.visits, loinc);
  const below = (v: number | undefined, limit: number): boolean | undefined => (v === undefined ? undefined : v < limit);
  const atLeast = (v: number | undefined, limit: number): boolean | undefined => (v === undefined ? undefined : v >= limit);
  switch (key) {
    case 'type2-diabetes':
      return {
        description: 'Hemoglobin A1c below 7.0%',
        targets: [quantityTarget('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '<', 7, '%', '%')],
        achieved: below(latest('4548-4'), 7),
        plan: 'Take metformin as prescribed; HbA1c every 3 months; yearly eye and foot exams and kidney screening.',
      };
    case 'prediabetes':
      return {
        description: 'Hemoglobin A1c back below 5.7% through diet and activity',
        targets: [quantityTarget('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '<', 5.7, '%', '%')],
        achieved: below(latest('4548-4'), 5.7),
        plan: 'Lifestyle change program: 150 minutes of moderate activity a week and a 5-7% weight loss; recheck HbA1c yearly.',
      };
    case 'hypertension': {
      const sys = latest('8480-6');
      const dia = latest('8462-4');
      return {
        description: 'Blood pressure below 130/80 mmHg',
        targets: [
          quantityTarget('8480-6', 'Systolic blood pressure', '<', 130, 'mmHg', 'mm[Hg]'),
          quantityTarget('8462-4', 'Diastolic blood pressure', '<', 80, 'mmHg', 'mm[Hg]'),
        ],
        achieved: sys === undefined || dia === undefined ? undefined : sys < 130 && dia < 80,
        plan: 'Take blood pressure medicines daily; home blood pressure log; low-sodium diet; recheck at each visit.',
      };
    }
    case 'hyperlipidemia':
      return {
        description: 'LDL cholesterol below 100 mg/dL',
        targets: [quantityTarget('18262-6', 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay', '<', 100, 'mg/dL', 'mg/dL')],
        achieved: below(latest('18262-6'), 100),
        plan: 'Atorvastatin at bedtime; heart-healthy diet; lipid panel after dose changes and yearly.',
      };
    case 'hypothyroidism': {
      const tsh = latest('3016-3');
      return {
        description: 'TSH within the reference range on levothyroxine',
        targets: [
          {
            measure: concept(SYSTEM.loinc, '3016-3', 'Thyrotropin [Units/volume] in Serum or Plasma'),
            detailRange: { low: { value: 0.45, unit: 'mIU/L', system: SYSTEM.ucum, code: 'm[IU]/L' }, high: { value: 4.5, unit: 'mIU/L', system: SYSTEM.ucum, code: 'm[IU]/L' } },
          },
        ],
        achieved: tsh === undefined ? undefined : tsh >= 0.45 && tsh <= 4.5,
        plan: 'Levothyroxine every morning on an empty stomach; TSH yearly and 6 weeks after any dose change.',
      };
    }
    case 'iron-deficiency-anemia':
      return {
        description: 'Hemoglobin back to at least 12 g/dL',
        targets: [quantityTarget('718-7', 'Hemoglobin [Mass/volume] in Blood', '>=', 12, 'g/dL', 'g/dL')],
        achieved: atLeast(latest('718-7'), 12),
        plan: 'Oral iron daily for 3 to 6 months; recheck blood count; look for the cause of iron loss.',
      };
    case 'ckd':
      return {
        description: 'Slow the loss of kidney function: eGFR to stay at or above 30',
        targets: [quantityTarget('62238-1', 'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)', '>=', 30, 'mL/min/1.73m2', 'mL/min/{1.73_m2}')],
        achieved: atLeast(latest('62238-1'), 30),
        plan: 'Kidney function and potassium every 6 months; blood pressure control; avoid NSAIDs; dose medicines for kidney function.',
      };
    case 'obesity': {
      const weight = latest('29463-7');
      if (weight === undefined) return undefined;
      return {
        description: 'Lose 5% of body weight',
        targets: [quantityTarget('29463-7', 'Body weight', '<=', Math.round(weight * 0.95 * 10) / 10, 'kg', 'kg')],
        plan: 'Nutrition counselling and regular physical activity; weigh at each visit.',
      };
    }
    case 'asthma':
      return {
        description: 'Asthma well controlled: rescue inhaler needed no more than 2 days a week, no night-time symptoms',
        targets: [],
        plan: 'Follow the asthma action plan; controller inhaler daily if prescribed; rescue inhaler as needed; spirometry yearly.',
      };
    case 'peanut-allergy':
      return {
        description: 'No allergic reactions: strict peanut avoidance, epinephrine always at hand',
        targets: [],
        plan: 'Strict peanut avoidance; epinephrine auto-injector at home and school; written anaphylaxis action plan.',
      };
    case 'nicotine-dependence':
      return {
        description: 'Quit smoking',
        targets: [],
        plan: 'Smoking cessation counselling at each visit; offer nicotine replacement and quitline referral.',
      };
  }
}

export interface CareOutput {
  readonly careTeam: CareTeam;
  readonly goals: Goal[];
  readonly carePlan?: CarePlan;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function currentClinician(ctx: RecordContext): Clinician {
  return exactAge(ctx.profile.birthDay, ANCHOR_DAY) < 18 ? ctx.clinic.pediatrician : ctx.clinic.familyPhysician;
}

export function careResources(ctx: RecordContext, guardian: Reference | undefined): CareOutput {
  const rng = stream(ctx, 'care');
  const clinician = currentClinician(ctx);
  const since = isoFromDay(ctx.visits[0]?.visit.day ?? ANCHOR_DAY - 365);
  const careTeamId = rng.uuid();
  const age = exactAge(ctx.profile.birthDay, ANCHOR_DAY);
  const careTeam: CareTeam = {
    resourceType: 'CareTeam',
    id: careTeamId,
    meta: { profile: [PROFILE.careTeam] },
    status: 'active',
    category: [concept(SYSTEM.loinc, 'LA28865-6', 'Longitudinal care-coordination focused care team')],
    name: 'Primary care team',
    subject: ctx.subject,
    period: { start: since },
    participant: [
      { role: [concept(SYSTEM.snomed, '453231000124104', 'Primary care provider')], member: clinician.reference },
      ...(age >= 12 ? [{ role: [concept(SYSTEM.snomed, '116154003', 'Patient')], member: ctx.subject }] : []),
      ...(guardian ? [{ role: [concept(SYSTEM.snomed, '133932002', 'Caregiver')], member: guardian }] : []),
    ],
    managingOrganization: [ctx.practice.organization],
  };

  const due = isoFromDay(ANCHOR_DAY + rng.int(60, 200));
  const firstVisit = ctx.visits[0]?.visit.day ?? ANCHOR_DAY - 365;
  const goals: Goal[] = [];
  const addressed: { problem: Problem; draft: GoalDraft; goal: Goal }[] = [];
  for (const [key, problem] of ctx.problems) {
    const draft = draftGoal(ctx, key);
    if (!draft) continue;
    const resolved = problem.plan.abatementDay !== undefined;
    const lifelong = key === 'nicotine-dependence' || key === 'obesity';
    const startDay = lifelong ? Math.max(problem.plan.onsetDay, firstVisit) : problem.plan.onsetDay;
    const achievement = resolved || draft.achieved === true ? 'achieved' : draft.achieved === false ? 'not-achieving' : 'in-progress';
    const dueDate = resolved && problem.plan.abatementDay !== undefined ? isoFromDay(problem.plan.abatementDay) : due;
    const goal: Goal = {
      resourceType: 'Goal',
      id: rng.uuid(),
      meta: { profile: [PROFILE.goal] },
      lifecycleStatus: resolved ? 'completed' : 'active',
      achievementStatus: { coding: [coding(SYSTEM.goalAchievement, achievement, achievement === 'achieved' ? 'Achieved' : achievement === 'not-achieving' ? 'Not Achieving' : 'In Progress')] },
      description: { text: draft.description },
      subject: ctx.subject,
      startDate: isoFromDay(startDay),
      target: draft.targets.length > 0 ? draft.targets.map((t) => ({ ...t, dueDate })) : [{ dueDate }],
      expressedBy: clinician.reference,
      addresses: [problem.reference],
    };
    goals.push(goal);
    addressed.push({ problem, draft, goal });
  }
  if (addressed.length === 0) return { careTeam, goals };

  const items = addressed.map(({ problem, draft }) => `${problem.plan.label}: ${draft.plan}`);
  const carePlan: CarePlan = {
    resourceType: 'CarePlan',
    id: rng.uuid(),
    meta: { profile: [PROFILE.carePlan] },
    text: {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml"><p><b>Assessment and plan</b></p><ul>${items.map((i) => `<li>${escapeXml(i)}</li>`).join('')}</ul></div>`,
    },
    status: 'active',
    intent: 'plan',
    category: [{ coding: [coding(SYSTEM.carePlanCategory, 'assess-plan', 'Assessment and Plan of Treatment')] }],
    title: 'Chronic condition management plan',
    subject: ctx.subject,
    period: { start: isoFromDay(Math.min(...addressed.map((a) => a.problem.plan.onsetDay))) },
    author: clinician.reference,
    careTeam: [{ reference: `CareTeam/${careTeamId}` }],
    addresses: addressed.map((a) => a.problem.reference),
    goal: addressed.map((a) => ({ reference: `Goal/${a.goal.id}` })),
    activity: addressed.map(({ problem, draft }) => ({
      detail: { status: problem.plan.abatementDay !== undefined ? ('completed' as const) : ('in-progress' as const), description: draft.plan },
    })),
  };
  return { careTeam, goals, carePlan };
}
