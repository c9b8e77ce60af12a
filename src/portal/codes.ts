// One-time codes people type: generated from the CSPRNG, stored only as SHA-256 hashes. Codes carry 60 bits
// (activation) or are short-lived and bound to one account (reset), so an unsalted fast hash is enough: the
// stored hash cannot be reversed in the code's lifetime, and a database dump holds no usable code.
import { createHash, randomInt } from 'node:crypto';

// Crockford's base32: no I, L, O or U, so nothing reads as another character or spells a word.
const BASE32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** 12 base32 characters in groups of four: XXXX-XXXX-XXXX. */
export function newActivationCode(): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += BASE32[randomInt(32)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

/** The canonical form of a typed activation code: case, spaces and dashes ignored, look-alikes mapped (O→0, I/L→1). */
export function normalizeActivationCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

/** 8 decimal digits, for codes read from an e-mail and typed on a phone. */
export function newNumericCode(digits = 8): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += String(randomInt(10));
  return s;
}

export const normalizeNumericCode = (input: string): string => input.replace(/[\s-]/g, '');
