// What a new password must satisfy, following NIST SP 800-63B: length over composition rules, a block list of
// common choices, no part of the username. Every failed rule comes back as its own plain-language sentence.
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

// The most common passwords of 10+ characters in public breach lists (shorter ones fail the length rule anyway),
// plus obvious choices for a health portal. Compared case-insensitively.
const COMMON = new Set([
  '1234567890', '0123456789', '0987654321', '1111111111', '0000000000', '1122334455', '1234512345', '1234554321',
  '12345678910', '123456789a', 'a123456789', '123456789q', 'q123456789', '1q2w3e4r5t', '1qaz2wsx3edc', 'zaq12wsxcde3',
  'qwertyuiop', 'qwerty1234', 'qwerty12345', 'qwerty123456', 'asdfghjkl1', 'asdfghjkl;', 'zxcvbnm123', '1q2w3e4r5t6y',
  'password12', 'password123', 'password1234', 'password12345', 'password!1', 'password01', 'passw0rd123', 'p@ssw0rd123',
  'iloveyou12', 'iloveyou123', 'iloveyou1234', 'letmein123', 'welcome123', 'welcome1234', 'changeme123', 'trustno1234',
  'football12', 'football123', 'baseball123', 'basketball', 'basketball1', 'princess123', 'sunshine123', 'superman123',
  'starwars123', 'dragon1234', 'monkey1234', 'michael123', 'jennifer123', 'charlie123', 'master1234', 'shadow1234',
  'computer123', 'whatever123', 'abcdefghij', 'abcdefg123', 'abc1234567', 'abcd123456', 'aaaaaaaaaa', 'qqqqqqqqqq',
  'administrator', 'admin12345', 'admin123456', 'letmeinnow', 'myspace123', 'internet123', 'chocolate1', 'butterfly1',
  'patient123', 'patientportal', 'mychart123', 'health1234', 'healthcare', 'healthcare1', 'doctor1234', 'hospital123',
  'smartonfhir', 'smart-demo', 'smartdemo123', 'fhirserver',
]);

export interface PolicyContext {
  /** The account's username; a password containing it is rejected */
  readonly username?: string;
}

/** Characters as people count them (code points), not UTF-16 units. */
const length = (s: string): number => [...s].length;

/** Empty when the password is acceptable; otherwise one message per rule it breaks. */
export function passwordProblems(password: string, ctx: PolicyContext = {}): string[] {
  const problems: string[] = [];
  const n = length(password);
  if (n < MIN_PASSWORD_LENGTH) problems.push(`Use at least ${MIN_PASSWORD_LENGTH} characters (this one has ${n}). A few unrelated words make a long password that is easy to remember.`);
  if (n > MAX_PASSWORD_LENGTH) problems.push(`Use at most ${MAX_PASSWORD_LENGTH} characters.`);
  const lower = password.toLowerCase();
  const username = ctx.username?.trim().toLowerCase();
  if (username && username.length >= 3 && lower.includes(username)) problems.push('Do not use your username in your password.');
  if (COMMON.has(lower)) problems.push('This password is one of the most common ones, so it is easy to guess. Choose another.');
  return problems;
}
