import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '@labelloop/common';
import { perClassThresholds, suspectLabelErrors, type LabelledPrediction } from '../src/index.js';

/** A softmax-like vector: `p` on the predicted class, the rest spread evenly. */
function vector(classCount: number, predicted: number, p: number): number[] {
  return Array.from({ length: classCount }, (_, j) => (j === predicted ? p : (1 - p) / (classCount - 1)));
}

describe('suspectLabelErrors', () => {
  it('finds planted flipped labels among many correct ones', () => {
    const random = createRng(11).next;
    const K = 10;
    const items: LabelledPrediction[] = [];
    const truth: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const trueClass = i % K;
      // The model: usually confident and right, sometimes unsure (0.5–0.8), a few confidently wrong.
      const r = random();
      const predicted = r < 0.02 ? (trueClass + 3) % K : trueClass;
      const p = r < 0.02 ? 0.6 + 0.3 * random() : r < 0.2 ? 0.5 + 0.3 * random() : 0.9 + 0.099 * random();
      items.push({ label: trueClass, probabilities: vector(K, predicted, p) });
      truth.push(trueClass);
    }
    // Flip 40 labels of items the model gets right.
    const flipped = new Set<number>();
    while (flipped.size < 40) {
      const i = Math.floor(random() * items.length);
      const p = items[i]!.probabilities;
      if (p[truth[i]!]! >= 0.9 && !flipped.has(i)) {
        flipped.add(i);
        items[i] = { ...items[i]!, label: (truth[i]! + 1 + Math.floor(random() * (K - 1))) % K };
      }
    }
    const suspects = suspectLabelErrors(items, { classCount: K });
    const found = suspects.filter((i) => flipped.has(i)).length;
    assert.ok(found >= 38, `found ${found} of 40 flipped labels`);
    // Precision: the model's own confident mistakes (p < 0.9) and unsure items are not flagged.
    assert.ok(suspects.length - found <= 2, `${suspects.length - found} false alarms`);
    // Most suspicious first: the margin p_suggested − p_label never grows down the list.
    const margin = (i: number) => Math.max(...Array.from(items[i]!.probabilities)) - items[i]!.probabilities[items[i]!.label]!;
    for (let k = 1; k < suspects.length; k++) assert.ok(margin(suspects[k - 1]!) >= margin(suspects[k]!));
  });

  it('uses the per-class mean self-confidence as the threshold', () => {
    // Class 1's items average p = 0.97, so a 0.95 vote for class 1 is not confident enough for it.
    const items: LabelledPrediction[] = [
      { label: 1, probabilities: [0.02, 0.98, 0] },
      { label: 1, probabilities: [0.04, 0.96, 0] },
      { label: 0, probabilities: [0.05, 0.95, 0] },
      { label: 0, probabilities: [0.9, 0.1, 0] },
      { label: 2, probabilities: [0.0, 0.01, 0.99] },
      { label: 2, probabilities: [0.97, 0.02, 0.01] },
    ];
    assert.deepEqual(perClassThresholds(items, 3), [(0.05 + 0.9) / 2, 0.97, 0.5]);
    assert.deepEqual(suspectLabelErrors(items, { classCount: 3 }), [5]);
    // A lower floor does not change it: t_1 = 0.97 still keeps item 2 out.
    assert.deepEqual(suspectLabelErrors(items, { classCount: 3, minConfidence: 0.5 }), [5]);
    assert.throws(() => suspectLabelErrors([{ label: 3, probabilities: [1, 0, 0] }], { classCount: 3 }), /outside/);
  });
});
