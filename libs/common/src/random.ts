// Seeded pseudo-random numbers: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, the one
// PractRand passes and seedrandom ships), seeded through splitmix32 so nearby seeds give unrelated
// streams. Everything that shuffles, augments, initialises or samples takes an Rng, so a seeded run
// is reproducible end to end.

/** Anything indexable and writable: T[], Int32Array, Uint32Array... */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MutableArrayLike = { length: number; [index: number]: any };

export interface Rng {
  /** Uniform float in [0, 1), 32 bits of randomness. */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Fisher–Yates shuffle, in place (plain or typed array); returns the same array. */
  shuffle<A extends MutableArrayLike>(array: A): A;
  /** An independent stream derived from this generator's seed and a label (not from its position). */
  fork(label: string): Rng;
  /** A 32-bit unsigned integer, e.g. to seed another library. */
  uint32(): number;
}

/** splitmix32 step: a good integer hash for seeding (Vigna's splitmix, 32-bit variant). */
function splitmix32(state: number): [value: number, state: number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, state];
}

/** FNV-1a over the UTF-16 code units of a label: stable across runs and platforms. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`rng seed must be a finite number, got ${seed}`);
  // Fold the whole seed (also above 2^32 or fractional) into 32 bits.
  const seed32 = (Math.trunc(seed) ^ Math.trunc(seed / 0x100000000)) >>> 0;
  let s = seed32;
  let a: number, b: number, c: number;
  [a, s] = splitmix32(s);
  [b, s] = splitmix32(s);
  [c, s] = splitmix32(s);
  let d = 1; // sfc32's counter
  let spareNormal: number | undefined;

  const uint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs: sfc32 mixes its state within a dozen steps.
  for (let i = 0; i < 12; i++) uint32();

  const next = (): number => uint32() / 0x100000000;

  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int needs a positive integer, got ${n}`);
    if (n > 0x100000000) return Math.floor(next() * n);
    // Rejection sampling removes the modulo bias.
    const limit = 0x100000000 - (0x100000000 % n);
    let x = uint32();
    while (x >= limit) x = uint32();
    return x % n;
  };

  return {
    next,
    int,
    uint32,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    normal() {
      if (spareNormal !== undefined) {
        const z = spareNormal;
        spareNormal = undefined;
        return z;
      }
      let u = next();
      while (u === 0) u = next();
      const r = Math.sqrt(-2 * Math.log(u));
      const theta = 2 * Math.PI * next();
      spareNormal = r * Math.sin(theta);
      return r * Math.cos(theta);
    },
    shuffle<A extends MutableArrayLike>(array: A): A {
      for (let i = array.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const tmp = array[i];
        array[i] = array[j];
        array[j] = tmp;
      }
      return array;
    },
    // Hash the seed before mixing in the label so (seed, label) pairs do not collide by xor.
    fork: (label) => createRng(splitmix32((splitmix32(seed32)[0] ^ hashLabel(label)) >>> 0)[0]),
  };
}
