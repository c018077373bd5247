import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError } from '@labelloop/common';
import { planLabelChange, type LabelState } from '../src/domain/label-plan.js';
import { chooseSplit, type SplitCounts } from '../src/domain/stratify.js';
import type { LabelRequest, SplitRatios } from '../src/domain/types.js';
import { shuffled } from './support/fixtures.js';

const DEFAULT: SplitRatios = { train: 0.7, validation: 0.15, test: 0.15 };

test('chooseSplit keeps every split within ±1 of ratio × n, for any number of items and several ratios', () => {
  const ratioSets: SplitRatios[] = [
    DEFAULT,
    { train: 0.8, validation: 0.1, test: 0.1 },
    { train: 0.5, validation: 0.25, test: 0.25 },
    { train: 0.9, validation: 0.1, test: 0 },
    { train: 1, validation: 0, test: 0 },
  ];
  for (const ratios of ratioSets) {
    const counts: SplitCounts = { train: 0, validation: 0, test: 0 };
    for (let n = 1; n <= 1000; n++) {
      counts[chooseSplit(counts, ratios)] += 1;
      for (const split of ['train', 'validation', 'test'] as const) {
        assert.ok(
          Math.abs(counts[split] - ratios[split] * n) <= 1,
          `${JSON.stringify(ratios)} n=${n} ${split}=${counts[split]}`,
        );
      }
    }
    assert.ok(ratios.test > 0 || counts.test === 0, 'a split with ratio 0 never gets an item');
  }
});

test('chooseSplit breaks ties towards test, then validation, then train', () => {
  // n+1 = 3 at 0.7/0.15/0.15 after two train items: deficits 0.1 / 0.45 / 0.45.
  assert.equal(chooseSplit({ train: 2, validation: 0, test: 0 }, DEFAULT), 'test');
  assert.equal(
    chooseSplit({ train: 0, validation: 0, test: 0 }, { train: 1 / 3, validation: 1 / 3, test: 1 / 3 }),
    'test',
  );
  assert.equal(
    chooseSplit({ train: 0, validation: 0, test: 1 }, { train: 1 / 3, validation: 1 / 3, test: 1 / 3 }),
    'validation',
  );
  assert.equal(chooseSplit({ train: 0, validation: 0, test: 0 }, DEFAULT), 'train');
});

const human = (value: string, extra: Partial<LabelRequest> = {}): LabelRequest => ({
  value,
  source: 'human',
  actor: 'ann',
  confidence: null,
  modelVersion: '',
  ...extra,
});
const labelled = (
  value: string,
  source: LabelRequest['source'],
  split: LabelState['split'],
  version = 1,
): LabelState => ({
  label: { value, source, actor: 'x', confidence: null, modelVersion: '', labeledAt: new Date() },
  split,
  labelVersion: version,
});
const empty: LabelState = { label: null, split: null, labelVersion: 0 };
const zero: SplitCounts = { train: 0, validation: 0, test: 0 };

test('planLabelChange: versions, no-ops, conflicts and counter moves', () => {
  assert.deepEqual(planLabelChange(empty, human('a'), zero, DEFAULT), {
    kind: 'change',
    split: 'train',
    version: 1,
    release: undefined,
    take: { className: 'a', split: 'train' },
  });
  assert.deepEqual(planLabelChange(labelled('a', 'human', 'train'), human('a'), zero, DEFAULT), { kind: 'noop' });
  assert.throws(
    () => planLabelChange(labelled('a', 'human', 'train', 3), human('b', { expectedVersion: 2 }), zero, DEFAULT),
    ConflictError,
  );
  // Relabelled train item: released from its old class, stratified in the new one.
  const moved = planLabelChange(
    labelled('a', 'human', 'train', 3),
    human('b'),
    { train: 2, validation: 0, test: 0 },
    DEFAULT,
  );
  assert.deepEqual(moved, {
    kind: 'change',
    split: 'test',
    version: 4,
    release: { className: 'a', split: 'train' },
    take: { className: 'b', split: 'test' },
  });
  // Test items never move.
  const frozen = planLabelChange(
    labelled('a', 'human', 'test'),
    human('b'),
    { train: 0, validation: 0, test: 50 },
    DEFAULT,
  );
  assert.equal(frozen.kind === 'change' && frozen.split, 'test');
  // Import entries keep their folder's split.
  const imported = planLabelChange(empty, human('a', { source: 'import', split: 'validation' }), zero, DEFAULT);
  assert.equal(imported.kind === 'change' && imported.split, 'validation');
});

test('planLabelChange: model labels go to train only and are not counted; confirming one stratifies it', () => {
  const fromValidation = planLabelChange(
    labelled('a', 'human', 'validation'),
    human('b', { source: 'model', confidence: 0.9 }),
    zero,
    DEFAULT,
  );
  assert.deepEqual(fromValidation, {
    kind: 'change',
    split: 'train',
    version: 2,
    release: { className: 'a', split: 'validation' },
    take: undefined,
  });
  const onTest = planLabelChange(labelled('a', 'human', 'test'), human('b', { source: 'model' }), zero, DEFAULT);
  assert.equal(onTest.kind === 'change' && onTest.split, 'test');
  const confirmed = planLabelChange(
    labelled('a', 'model', 'train'),
    human('a'),
    { train: 2, validation: 0, test: 0 },
    DEFAULT,
  );
  assert.deepEqual(confirmed, {
    kind: 'change',
    split: 'test',
    version: 2,
    release: undefined,
    take: { className: 'a', split: 'test' },
  });
  // A human relabel of a human label in the same class but another source keeps the split.
  const sameClass = planLabelChange(labelled('a', 'import', 'validation'), human('a'), zero, DEFAULT);
  assert.equal(sameClass.kind === 'change' && sameClass.split, 'validation');
});

test('stratification over a random labelling order, with relabels, keeps the counters consistent', () => {
  const classes = ['a', 'b', 'c'];
  const counters = new Map(classes.map((c) => [c, { ...zero }]));
  const items: LabelState[] = Array.from({ length: 300 }, () => ({ ...empty }));
  const apply = (index: number, request: LabelRequest) => {
    const state = items[index]!;
    const plan = planLabelChange(state, request, counters.get(request.value)!, DEFAULT);
    if (plan.kind === 'noop') return;
    if (plan.release) counters.get(plan.release.className)![plan.release.split] -= 1;
    if (plan.take) counters.get(plan.take.className)![plan.take.split] += 1;
    items[index] = {
      label: {
        value: request.value,
        source: request.source,
        actor: '',
        confidence: null,
        modelVersion: '',
        labeledAt: new Date(),
      },
      split: plan.split,
      labelVersion: plan.version,
    };
  };
  for (const i of shuffled([...items.keys()], 7)) apply(i, human(classes[i % 3]!));
  for (const i of shuffled([...items.keys()], 8).slice(0, 100)) apply(i, human(classes[(i + 1) % 3]!));
  for (const name of classes) {
    const actual = { ...zero };
    for (const item of items) if (item.label?.value === name && item.split) actual[item.split] += 1;
    assert.deepEqual(counters.get(name), actual);
    assert.ok(Object.values(actual).every((n) => n >= 0));
  }
});
