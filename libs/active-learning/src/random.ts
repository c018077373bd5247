// A seeded uniform generator (sfc32 seeded through splitmix32, as libs/ml's createRng), so sampling
// for audits and random acquisition repeats exactly for a given seed without depending on tfjs.

function splitmix32(state: number): [value: number, state: number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, state];
}

/** Uniform floats in [0, 1) from a 32-bit seed (other numbers are folded into 32 bits). */
export function seededRandom(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new RangeError(`random seed must be a finite number, got ${seed}`);
  let s = (Math.trunc(seed) ^ Math.trunc(seed / 0x100000000)) >>> 0;
  let a: number, b: number, c: number;
  [a, s] = splitmix32(s);
  [b, s] = splitmix32(s);
  [c, s] = splitmix32(s);
  let d = 1;
  const uint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) uint32();
  return () => uint32() / 0x100000000;
}
