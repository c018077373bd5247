import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@labelloop/common';
import { loadConfig } from '../src/config.js';
import { validatePolicy } from '../src/domain/defaults.js';
import { decidePromotion } from '../src/domain/promotion.js';
import type { ModelMetrics } from '../src/domain/types.js';

function metrics(macroF1: number, recalls: Record<string, number>, f1s: Record<string, number> = {}): ModelMetrics {
  const split = (name: 'test' | 'validation') => ({
    split: name, accuracy: macroF1, macroF1, confusionMatrix: [], eceBefore: 0, eceAfter: 0, items: 10,
    perClass: Object.entries(recalls).map(([className, recall]) => ({ className, precision: 1, recall, f1: f1s[className] ?? 1, support: 5 })),
  });
  return { test: split('test'), validation: split('validation') };
}
const policy = { promotionTolerance: 0, maxRecallDrop: 0.05 };

test('the first model is promoted', () => {
  assert.deepEqual(decidePromotion(metrics(0.3, { a: 0.3 }), undefined, policy).promote, true);
});

test('macro-F1 below the champion minus tolerance is not promoted; within the tolerance it is', () => {
  const champion = { version: 3, metrics: metrics(0.9, { a: 0.9, b: 0.9 }) };
  const lower = decidePromotion(metrics(0.88, { a: 0.9, b: 0.9 }), champion, policy);
  assert.equal(lower.promote, false);
  assert.match(lower.reason, /0\.8800 is below champion v3's 0\.9000/);
  assert.equal(decidePromotion(metrics(0.88, { a: 0.9, b: 0.9 }), champion, { ...policy, promotionTolerance: 0.03 }).promote, true);
});

test('a better macro-F1 with one class losing too much recall is not promoted', () => {
  const champion = { version: 1, metrics: metrics(0.8, { a: 0.9, b: 0.7 }) };
  const d = decidePromotion(metrics(0.85, { a: 0.8, b: 0.95 }), champion, policy);
  assert.equal(d.promote, false);
  assert.match(d.reason, /recall of class a drops from 0\.9000 to 0\.8000/);
  assert.equal(decidePromotion(metrics(0.85, { a: 0.86, b: 0.95 }), champion, policy).promote, true);
});

test('a recall drop whose class F1 improves is not a regression (a weak champion over-predicting the class)', () => {
  // v1 calls most digits "1": recall 0.99 for class 1 but F1 0.40; v2 is better everywhere but gives recall back.
  const champion = { version: 1, metrics: metrics(0.55, { '1': 0.99, '7': 0.5 }, { '1': 0.4, '7': 0.6 }) };
  const better = decidePromotion(metrics(0.8, { '1': 0.9, '7': 0.8 }, { '1': 0.85, '7': 0.8 }), champion, policy);
  assert.equal(better.promote, true, better.reason);
  const worse = decidePromotion(metrics(0.8, { '1': 0.9, '7': 0.8 }, { '1': 0.35, '7': 0.8 }), champion, policy);
  assert.equal(worse.promote, false);
  assert.match(worse.reason, /recall of class 1 drops from 0\.9900 to 0\.9000 .* F1 does not improve \(0\.4000 → 0\.3500\)/);
});

test('policy ranges are checked', () => {
  const ok = { datasetId: 'd', everyHumanLabels: 0, replayRatio: 0.5, promotionTolerance: 0, maxRecallDrop: 0.05 };
  assert.doesNotThrow(() => validatePolicy(ok));
  assert.throws(() => validatePolicy({ ...ok, everyHumanLabels: -1 }), /every_human_labels/);
  assert.throws(() => validatePolicy({ ...ok, maxRecallDrop: 1.5 }), /max_recall_drop/);
});

test('config: defaults, and a bad value names its variable', () => {
  const c = loadConfig({ NATS_URL: 'nats://127.0.0.1:4222' });
  assert.equal(c.grpcPort, 50052);
  assert.equal(c.metricsPort, 9465);
  assert.equal(c.datasetAddr, '127.0.0.1:50051');
  assert.equal(c.database.pgliteDir, './.labelloop/pg/trainer');
  assert.deepEqual({ concurrency: c.work.concurrency, ackWaitMs: c.work.ackWaitMs, maxDeliver: c.work.maxDeliver }, { concurrency: 1, ackWaitMs: 30_000, maxDeliver: 5 });
  assert.throws(() => loadConfig({ NATS_URL: 'nats://x:1', TRAINER_CONCURRENCY: '0' }), (err: unknown) => err instanceof ConfigError && /TRAINER_CONCURRENCY/.test(err.message));
  assert.throws(() => loadConfig({}), /NATS_URL/);
});
