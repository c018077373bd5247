// Softmax over rows of n·k logits, with a temperature: p = softmax(z / T).

function rows(length: number, k: number): number {
  if (!Number.isInteger(k) || k < 1 || length % k !== 0) {
    throw new RangeError(`${length} values do not split into rows of k = ${k} classes`);
  }
  return length / k;
}

export function softmaxWithTemperature(logits: ArrayLike<number>, k: number, temperature = 1): Float32Array {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  const n = rows(logits.length, k);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[o + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      // Subtracting the row max keeps exp() from overflowing.
      const e = Math.exp((logits[o + j]! - max) / temperature);
      out[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < k; j++) out[o + j]! /= sum;
  }
  return out;
}

/** Mean negative log-likelihood of the true labels under softmax(z / T), computed stably in float64. */
export function negativeLogLikelihood(logits: ArrayLike<number>, labels: ArrayLike<number>, k: number, temperature = 1): number {
  const n = rows(logits.length, k);
  if (labels.length !== n) throw new RangeError(`${labels.length} labels for ${n} rows of logits`);
  if (n === 0) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[o + j]! / temperature);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[o + j]! / temperature - max);
    const label = labels[i]!;
    if (!(label >= 0 && label < k)) throw new RangeError(`label ${label} is outside 0..${k - 1}`);
    total += max + Math.log(sum) - logits[o + label]! / temperature;
  }
  return total / n;
}
