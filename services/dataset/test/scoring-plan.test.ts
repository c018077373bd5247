import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ACTIVE_LEARNING, validateActiveLearning } from '../src/domain/active-learning-settings.js';
import {
  diversify,
  modelLabelAction,
  planFinalization,
  queueTasks,
  type ScoredItem,
} from '../src/domain/scoring/finalize.js';
import { validatePredictions } from '../src/domain/scoring/predictions.js';

// The pure parts of scoring: prediction validation, the finalization plan, queue priorities,
// k-center diversity and the settings rules.

const CLASSES = ['cat', 'dog'];
const job = { id: '8f3c2a10-0000-4000-8000-000000000001', modelVersion: 3, createdAt: new Date('2030-01-01') };

function scored(i: number, overrides: Partial<ScoredItem>): ScoredItem {
  const pCat = overrides.predicted === 'dog' ? 1 - (overrides.confidence ?? 0.9) : (overrides.confidence ?? 0.9);
  return {
    itemId: `item-${String(i).padStart(4, '0')}`,
    seq: i,
    predicted: 'cat',
    confidence: 0.9,
    probabilities: [pCat, 1 - pCat],
    acquisitionScore: 0,
    label: null,
    labelSource: null,
    labelModelVersion: null,
    split: null,
    excluded: false,
    labeledAt: null,
    ...overrides,
  };
}

function fixture(): ScoredItem[] {
  const items: ScoredItem[] = [];
  let i = 0;
  // 40 calibration items: 30 right at 0.97, 10 wrong at 0.6 → threshold 0.65 at ε = 0.2.
  for (let k = 0; k < 30; k++) {
    const label = k % 2 ? 'dog' : 'cat';
    items.push(scored(i++, { predicted: label, confidence: 0.97, label, labelSource: 'human', split: 'validation' }));
  }
  for (let k = 0; k < 10; k++) {
    items.push(
      scored(i++, { predicted: 'dog', confidence: 0.6, label: 'cat', labelSource: 'import', split: 'validation' }),
    );
  }
  // Pool: 12 accepted (one holds an older model label of the same class), 8 not (one with an old model label).
  for (let k = 0; k < 12; k++) {
    items.push(
      scored(i++, {
        predicted: 'cat',
        confidence: 0.9,
        ...(k === 0
          ? { label: 'cat', labelSource: 'model' as const, labelModelVersion: '2', split: 'train' as const }
          : {}),
      }),
    );
  }
  for (let k = 0; k < 8; k++) {
    items.push(
      scored(i++, {
        predicted: 'dog',
        confidence: 0.6,
        acquisitionScore: k / 10,
        ...(k === 0
          ? { label: 'dog', labelSource: 'model' as const, labelModelVersion: '1', split: 'train' as const }
          : {}),
      }),
    );
  }
  // A newer model's label is not ours to touch; an excluded item is not in the pool at all.
  items.push(
    scored(i++, { confidence: 0.6, label: 'dog', labelSource: 'model', labelModelVersion: '4', split: 'train' }),
  );
  items.push(scored(i++, { confidence: 0.99, excluded: true }));
  // Labelled: one contradicted with high confidence (suspected), one labelled after the job began.
  items.push(scored(i++, { predicted: 'cat', confidence: 0.99, label: 'dog', labelSource: 'human', split: 'train' }));
  items.push(
    scored(i++, {
      predicted: 'cat',
      confidence: 0.99,
      label: 'dog',
      labelSource: 'human',
      split: 'test',
      labeledAt: new Date('2030-02-01'),
    }),
  );
  return items;
}

const settings = { ...DEFAULT_ACTIVE_LEARNING, targetError: 0.2, auditShare: 0.25, auditMinimum: 2 };

test('the plan: threshold, model labels, seeded audits, suspects and the queue', () => {
  const items = fixture();
  const plan = planFinalization({ job, classes: CLASSES, settings, items });
  assert.equal(plan.decision.scope, 'global');
  assert.equal(plan.decision.thresholds[0]!.threshold, 0.65);
  assert.equal(plan.decision.thresholds[0]!.className, '');
  assert.equal(plan.decision.calibrationItems, 40);
  assert.equal(plan.decision.autoLabelled, 12);
  assert.equal(plan.decision.poolItems, 21, '12 accepted + 8 not + the newer model label');
  assert.equal(plan.decision.reason, '');
  assert.equal(plan.effectiveTargetError, 0.2);

  const accepted = plan.modelLabels.filter((m) => m.target !== null);
  assert.equal(accepted.length, 12);
  assert.ok(!plan.modelLabels.some((m) => m.itemId === 'item-0061'), 'excluded item not planned');

  assert.equal(plan.audits.length, Math.max(Math.ceil(0.25 * 12), 2));
  assert.ok(plan.audits.every((a) => a.subjectLabel === 'cat'));
  const again = planFinalization({ job, classes: CLASSES, settings, items });
  assert.deepEqual(again.audits, plan.audits, 'same job: same audit sample');
  const otherJob = planFinalization({
    job: { ...job, id: '00000000-0000-4000-8000-000000000002' },
    classes: CLASSES,
    settings,
    items,
  });
  assert.equal(otherJob.audits.length, plan.audits.length);

  assert.deepEqual(plan.suspects, [{ itemId: 'item-0062', subjectLabel: 'dog' }]);
  // Uncertain: the 8 unaccepted pool items by score, highest first (the newer model's item is skipped).
  assert.deepEqual(
    plan.uncertain,
    Array.from({ length: 8 }, (_, k) => `item-${String(52 + 7 - k).padStart(4, '0')}`),
  );
  assert.deepEqual(plan.diversityCandidates, []);
});

test('no qualifying threshold, or auto-labelling off: nothing accepted and the reason says why', () => {
  const few = fixture().filter((item) => item.split !== 'validation' || item.seq < 5);
  const none = planFinalization({ job, classes: CLASSES, settings, items: few });
  assert.equal(none.decision.scope, '');
  assert.equal(none.decision.autoLabelled, 0);
  assert.match(none.decision.reason, /no threshold/);
  assert.equal(none.modelLabels.filter((m) => m.target).length, 0);
  assert.equal(none.audits.length, 0);

  const off = planFinalization({
    job,
    classes: CLASSES,
    settings: { ...settings, autoLabel: false },
    items: fixture(),
  });
  assert.equal(off.decision.scope, 'global', 'the threshold is still reported');
  assert.equal(off.decision.autoLabelled, 0);
  assert.match(off.decision.reason, /auto-labelling is off/);

  // The error scale tightens ε.
  const halved = planFinalization({
    job,
    classes: CLASSES,
    settings: { ...settings, errorScale: 0.5 },
    items: fixture(),
  });
  assert.equal(halved.effectiveTargetError, 0.1);
  assert.equal(halved.decision.targetError, 0.1);
});

test('model label actions never touch human, import, excluded or newer labels', () => {
  const target = { value: 'cat', confidence: 0.9 };
  const state = (
    source: 'human' | 'model' | 'import' | null,
    version: string | null = null,
    label: string | null = 'cat',
  ) => ({
    label: source ? label : null,
    source,
    modelVersion: version,
    excluded: false,
  });
  assert.equal(modelLabelAction(state(null), target, 3), 'apply');
  assert.equal(modelLabelAction(state(null), null, 3), 'keep');
  assert.equal(modelLabelAction(state('human'), null, 3), 'skip');
  assert.equal(modelLabelAction(state('import'), target, 3), 'skip');
  assert.equal(modelLabelAction({ ...state(null), excluded: true }, target, 3), 'skip');
  assert.equal(modelLabelAction(state('model', '3'), target, 3), 'keep');
  assert.equal(modelLabelAction(state('model', '2'), target, 3), 'apply', 'an older model label is replaced');
  assert.equal(modelLabelAction(state('model', '3', 'dog'), target, 3), 'apply');
  assert.equal(modelLabelAction(state('model', '2'), null, 3), 'remove');
  assert.equal(modelLabelAction(state('model', 'hand-made'), null, 3), 'remove');
  assert.equal(modelLabelAction(state('model', '4'), null, 3), 'skip');
});

test('queue priorities: uncertain by rank, audits and suspects interleaved about every 5th', () => {
  const tasks = queueTasks(
    {
      audits: [
        { itemId: 'a0', subjectLabel: 'cat' },
        { itemId: 'a1', subjectLabel: 'dog' },
      ],
      suspects: [{ itemId: 's0', subjectLabel: 'dog' }],
    },
    ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10', 'u11'],
  );
  const served = [...tasks].sort((a, b) => a.priority - b.priority).map((t) => t.itemId);
  assert.deepEqual(served, [
    'u0',
    'u1',
    'u2',
    'a0',
    'u3',
    'u4',
    'u5',
    'u6',
    'u7',
    's0',
    'u8',
    'u9',
    'u10',
    'u11',
    'a1',
  ]);
  assert.deepEqual(
    tasks.filter((t) => t.reason !== 'uncertain').map((t) => [t.itemId, t.reason, t.priority]),
    [
      ['a0', 'audit', 2.5],
      ['s0', 'suspected_label_error', 7.5],
      ['a1', 'audit', 12.5],
    ],
  );
  assert.deepEqual(
    tasks.filter((t) => t.reason === 'uncertain').map((t) => t.priority),
    Array.from({ length: 12 }, (_, r) => r),
  );
});

test('k-center diversity reorders the top of the queue, the rest keeps score order', () => {
  // Two tight clusters; the best-scored 4 are all in cluster A. A diverse batch takes B early.
  const ids = Array.from({ length: 8 }, (_, i) => `u${i}`);
  const embeddings = new Map(ids.map((id, i) => [id, i < 6 ? [0, i * 0.01] : [10, i * 0.01]]));
  const scores = new Map(ids.map((id, i) => [id, 1 - i / 10]));
  const order = diversify(ids, ids, embeddings, [[0, 0]], scores);
  assert.equal(order.length, 8);
  assert.deepEqual(new Set(order), new Set(ids));
  assert.ok(order.indexOf('u6') < 2 || order.indexOf('u7') < 2, `cluster B comes first: ${order.join(',')}`);
  // Without embeddings nothing changes.
  assert.deepEqual(diversify(ids, ids, new Map(), [], scores), ids);
});

test('predictions: items of the shard, one per class, finite probabilities', () => {
  const shard = new Set(['i1', 'i2']);
  const ok = validatePredictions(
    [{ itemId: 'i1', probabilities: [0.25, 0.75], acquisitionScore: 0.5, embedding: [] }],
    shard,
    CLASSES,
  );
  assert.deepEqual([ok[0]!.predicted, ok[0]!.confidence], ['dog', 0.75]);
  const bad = (p: Partial<Parameters<typeof validatePredictions>[0][number]>, pattern: RegExp) =>
    assert.throws(
      () =>
        validatePredictions(
          [{ itemId: 'i1', probabilities: [0.5, 0.5], acquisitionScore: 0, embedding: [], ...p }],
          shard,
          CLASSES,
        ),
      pattern,
    );
  bad({ itemId: 'other' }, /not an item of this shard/);
  bad({ probabilities: [1] }, /1 probabilities; the dataset has 2 classes/);
  bad({ probabilities: [Number.NaN, 0.5] }, /not a number in \[0, 1\]/);
  bad({ probabilities: [0.9, 0.9] }, /sum to/);
  bad({ acquisitionScore: Number.POSITIVE_INFINITY }, /acquisition_score/);
  bad({ embedding: [1, Number.NaN] }, /embedding is not finite/);
  assert.throws(
    () =>
      validatePredictions(
        [
          { itemId: 'i1', probabilities: [0.5, 0.5], acquisitionScore: 0, embedding: [] },
          { itemId: 'i1', probabilities: [0.5, 0.5], acquisitionScore: 0, embedding: [] },
        ],
        shard,
        CLASSES,
      ),
    /listed twice/,
  );
});

test('settings: defaults for unset fields, ranges refused naming the field', () => {
  assert.deepEqual(validateActiveLearning(undefined), DEFAULT_ACTIVE_LEARNING);
  assert.deepEqual(validateActiveLearning({ targetError: 0.05, strategy: 'bald' }, 0.5), {
    ...DEFAULT_ACTIVE_LEARNING,
    targetError: 0.05,
    strategy: 'bald',
    errorScale: 0.5,
  });
  for (const [input, field] of [
    [{ targetError: 0 }, 'target_error'],
    [{ targetError: 0.6 }, 'target_error'],
    [{ confidence: 1 }, 'confidence'],
    [{ confidence: 0.4 }, 'confidence'],
    [{ mcSamples: 1 }, 'mc_samples'],
    [{ mcSamples: 101 }, 'mc_samples'],
    [{ auditShare: 1.5 }, 'audit_share'],
    [{ leaseSeconds: 4 }, 'lease_seconds'],
    [{ leaseSeconds: 86_401 }, 'lease_seconds'],
  ] as const) {
    assert.throws(() => validateActiveLearning(input), new RegExp(`^InvalidArgumentError: ${field}|${field} must`));
  }
});
