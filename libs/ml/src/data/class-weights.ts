// Class weights against imbalance (Caltech101 runs from 40 to 800 images a class).

/**
 * Inverse-frequency weights, w_c ∝ 1 / count_c, scaled so their mean over the classes that have
 * examples is 1; classes with no examples get 0 (they cannot appear in a batch anyway).
 */
export function classWeights(counts: ArrayLike<number>): Float32Array {
  const weights = new Float32Array(counts.length);
  let present = 0;
  let sumInverse = 0;
  for (let c = 0; c < counts.length; c++) {
    const count = counts[c]!;
    if (!(count >= 0) || !Number.isFinite(count)) throw new RangeError(`class ${c} has count ${count}`);
    if (count > 0) {
      present++;
      sumInverse += 1 / count;
    }
  }
  if (present === 0) return weights;
  const scale = present / sumInverse;
  for (let c = 0; c < counts.length; c++) {
    const count = counts[c]!;
    weights[c] = count > 0 ? scale / count : 0;
  }
  return weights;
}

/** The weight of each sample: its class's weight. */
export function sampleWeights(y: ArrayLike<number>, weights: ArrayLike<number>): Float32Array {
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    if (label < 0 || label >= weights.length) throw new RangeError(`label ${label} has no class weight`);
    out[i] = weights[label]!;
  }
  return out;
}
