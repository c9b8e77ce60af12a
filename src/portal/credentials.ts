// The checks a new username / password / e-mail pass, shared by every way an account is created (activation code,
// self sign-up). Messages are plain-language and name the field so a form can show each next to its input.
import { passwordProblems } from './password-policy.js';

export interface CredentialProblem {
  readonly field: 'username' | 'password' | 'email';
  readonly message: string;
}

export interface NewCredentials {
  readonly username: string;
  readonly password: string;
  readonly email?: string | null | undefined;
}

const USERNAME = /^[a-z0-9][a-z0-9._@+-]{2,63}$/;
// Deliberately loose: the real check is that mail arrives. This only catches typing slips.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

export const USERNAME_TAKEN = 'That username is taken. Choose another.';

export function credentialProblems(c: NewCredentials): CredentialProblem[] {
  const problems: CredentialProblem[] = [];
  const username = c.username.trim().toLowerCase();
  if (!USERNAME.test(username)) {
    problems.push({ field: 'username', message: 'Choose a username of 3 to 64 characters: letters, digits and . _ @ + - (starting with a letter or digit).' });
  }
  for (const message of passwordProblems(c.password, { username })) problems.push({ field: 'password', message });
  const email = c.email?.trim();
  if (email && (email.length > 254 || !EMAIL.test(email))) problems.push({ field: 'email', message: 'This e-mail address does not look right. Check it for typing mistakes.' });
  return problems;
}
