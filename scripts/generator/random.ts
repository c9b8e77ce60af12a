// Seeded pseudo-random numbers. Everything the generator emits must be a pure function of
// (seed, patient index, options), so Math.random is never used. Each patient's data comes from
// named sub-streams (Random.derive(seed, 'bulk-patient', index, 'visits', year)), so adding a
// draw in one module cannot shift the values of another, and patient N never depends on N-1.

export type SeedPart = string | number;

const TWO_POW_32 = 4294967296;

// Number#toString(16) is slow enough to show in bulk runs (every resource id is a UUID); a byte table is not.
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(n: number): string {
  return `${HEX_BYTE[(n >>> 24) & 255]}${HEX_BYTE[(n >>> 16) & 255]}${HEX_BYTE[(n >>> 8) & 255]}${HEX_BYTE[n & 255]}`;
}

// Murmur3's 32-bit finaliser: cheap, and every input bit flips ~half the output bits.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Four independently-salted lanes give 128 bits of seed material, enough to fill sfc32's state.
// Parts are tagged by type and separated so ('a', 1) and ('a1') hash differently.
function hashParts(parts: readonly SeedPart[]): [number, number, number, number] {
  const lanes: [number, number, number, number] = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344];
  const feed = (code: number): void => {
    for (let lane = 0; lane < 4; lane++) {
      const current = lanes[lane] ?? 0;
      lanes[lane] = fmix32((Math.imul(current ^ code, 0x9e3779b1) + lane * 0x632be5ab) >>> 0);
    }
  };
  for (const part of parts) {
    const text = typeof part === 'number' ? `n${part}` : `s${part}`;
    for (let i = 0; i < text.length; i++) feed(text.charCodeAt(i));
    feed(0x1f);
  }
  return lanes;
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state, fast with 32-bit JS ints. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(state: readonly [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = state;
    // The first outputs of a freshly seeded sfc32 are correlated with the seed; discard them.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A stream determined entirely by the given parts, e.g. derive(seed, 'patient', index). */
  static derive(...parts: SeedPart[]): Random {
    return new Random(hashParts(parts));
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform real in [min, max). */
  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Box–Muller; no cached second value, so the number of draws per call is always two. */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next(); // (0, 1], keeps log() finite
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Normal draw clipped to [min, max]. */
  clampedNormal(mean: number, sd: number, min: number, max: number): number {
    return Math.min(max, Math.max(min, this.normal(mean, sd)));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick() from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of choices) total += weight;
    let roll = this.next() * total;
    for (const [value, weight] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    const last = choices[choices.length - 1];
    if (!last) throw new Error('weighted() from an empty list');
    return last[0];
  }

  /** RFC 4122 version-4 layout, so ids look and validate like ordinary UUIDs. */
  uuid(): string {
    const w0 = this.nextUint32();
    const w1 = (this.nextUint32() & 0xffff0fff) | 0x00004000;
    const w2 = (this.nextUint32() & 0x3fffffff) | 0x80000000;
    const w3 = this.nextUint32();
    const h1 = hex32(w1);
    const h2 = hex32(w2);
    return `${hex32(w0)}-${h1.slice(0, 4)}-${h1.slice(4)}-${h2.slice(0, 4)}-${h2.slice(4)}${hex32(w3)}`;
  }

  /** Upper-case letters and digits, for lot numbers and the like. */
  alphanumeric(length: number, alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }
}
