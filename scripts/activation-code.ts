// npm run activation-code -- PATIENT_ID: issues a single-use activation code for a patient's portal account, for
// the clinic to hand over. The code is printed once; the database keeps only its hash.
import { parseArgs } from 'node:util';
import { runMain, withStore } from './cli.js';

const USAGE = `usage: npm run activation-code -- PATIENT_ID

  PATIENT_ID   id of the Patient resource the account will belong to, e.g. maria-garcia

Prints a single-use code (valid 45 days) to give to the patient with the sign-up instructions. The patient
redeems it together with their date of birth. Uses DATABASE_URL (default sqlite:./data/smart.db).

Exit code: 0 code issued; 1 no such patient or other failure; 2 usage or configuration error.`;

function usageError(message: string): never {
  process.stderr.write(`activation-code: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function parse(): string {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    usageError((err as Error).message);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (parsed.positionals.length !== 1) usageError(parsed.positionals.length ? 'give exactly one patient id' : 'no patient id given');
  return parsed.positionals[0]!;
}

async function main(): Promise<number> {
  const patientId = parse();
  const [{ UnknownPatientError }, { createPortalServices }] = await Promise.all([import('../src/portal/activation.js'), import('../src/portal/services.js')]);
  return withStore(usageError, async ({ db, fhir }) => {
    const portal = createPortalServices({ db, fhir });
    try {
      const { code, expiresAt } = await portal.activation.issueActivationCode(patientId);
      const patient = await portal.patients.get(patientId);
      console.log(`Activation code for Patient/${patientId}${patient ? ` (${patient.name})` : ''}: ${code}`);
      console.log(`Valid until ${new Date(expiresAt).toISOString()}, once. It is not stored and cannot be shown again.`);
      return 0;
    } catch (err) {
      if (!(err instanceof UnknownPatientError)) throw err;
      process.stderr.write(`activation-code: ${err.message}\n`);
      return 1;
    }
  });
}

runMain('activation-code', main);
