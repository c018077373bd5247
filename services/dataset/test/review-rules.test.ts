import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clopperPearsonInterval } from '@labelloop/active-learning';
import { auditOutcome, answerRefusal, leaseRefusal, type TaskState } from '../src/domain/review/answer-rules.js';
import { buildReport, estimateLabelsSaved, summarizeAudit } from '../src/domain/review/report.js';
import { blindItem, parseLeaseLimit, topSuggestions, validateAnswerBatch } from '../src/domain/review/review-rules.js';
import type { Item } from '../src/domain/types.js';

// The review queue's pure rules: limits, suggestions, who may answer, what an audit scores, the report.

const CLASSES = ['cat', 'dog', 'fox', 'owl'];

test('lease limit: 0 is the default, 1..100 pass, anything else is refused', () => {
  assert.equal(parseLeaseLimit(0), 10);
  assert.equal(parseLeaseLimit(1), 1);
  assert.equal(parseLeaseLimit(100), 100);
  for (const bad of [101, -1, 2.5]) assert.throws(() => parseLeaseLimit(bad), /limit must be 1\.\.100/);
  assert.throws(() => validateAnswerBatch([]), /must not be empty/);
  assert.throws(
    () => validateAnswerBatch(Array.from({ length: 101 }, () => ({ itemId: 'x', action: 'skip' as const, label: '' }))),
    /at most 100/,
  );
});

test('suggestions: the three most probable classes, best first, ties in class order', () => {
  assert.deepEqual(topSuggestions(CLASSES, [0.1, 0.6, 0.1, 0.2]), [
    { label: 'dog', confidence: 0.6 },
    { label: 'owl', confidence: 0.2 },
    { label: 'cat', confidence: 0.1 },
  ]);
  assert.deepEqual(
    topSuggestions(CLASSES, [0.5, 0.5], 1),
    [{ label: 'cat', confidence: 0.5 }],
    'a prediction made before classes were added covers the first classes only',
  );
});

test('an audit item is shown without its label', () => {
  const item = {
    id: 'i',
    label: { value: 'dog', source: 'model', actor: 'model:v1', confidence: 0.99, modelVersion: '1', labeledAt: new Date() },
  } as Item;
  assert.equal(blindItem(item).label, null);
  assert.equal(item.label!.value, 'dog', 'the original is untouched');
});

test('only the reviewer holding a live lease may answer', () => {
  const task = (over: Partial<TaskState>): TaskState => ({
    reason: 'uncertain',
    modelVersion: 1,
    subjectLabel: null,
    leasedBy: 'ann',
    leaseLive: true,
    ...over,
  });
  assert.equal(leaseRefusal(task({}), 'ann'), undefined);
  assert.equal(leaseRefusal(undefined, 'ann')!.code, 'not_leased');
  assert.equal(leaseRefusal(task({ leasedBy: null, leaseLive: false }), 'ann')!.code, 'not_leased');
  assert.equal(leaseRefusal(task({ leasedBy: 'bob' }), 'ann')!.code, 'lease_lost');
  assert.equal(leaseRefusal(task({ leaseLive: false }), 'ann')!.code, 'lease_lost');
  assert.equal(answerRefusal({ itemId: 'i', action: 'label', label: 'dog' }, CLASSES), undefined);
  assert.equal(answerRefusal({ itemId: 'i', action: 'label', label: 'Dog' }, CLASSES)!.code, 'unknown_class');
  assert.equal(answerRefusal({ itemId: 'i', action: 'label', label: '' }, CLASSES)!.code, 'invalid_answer');
  assert.equal(answerRefusal({ itemId: 'i', action: undefined, label: '' }, CLASSES)!.code, 'invalid_answer');
  assert.equal(answerRefusal({ itemId: 'i', action: 'skip', label: '' }, CLASSES), undefined);
});

test('an audit scores the model label against the answer; not-in-classes is a model error; a skip scores nothing', () => {
  const audit: TaskState = { reason: 'audit', modelVersion: 3, subjectLabel: 'dog', leasedBy: 'ann', leaseLive: true };
  assert.deepEqual(auditOutcome(audit, { itemId: 'i', action: 'label', label: 'dog' }), {
    modelVersion: 3,
    modelLabel: 'dog',
    humanLabel: 'dog',
    correct: true,
  });
  assert.equal(auditOutcome(audit, { itemId: 'i', action: 'label', label: 'fox' })!.correct, false);
  assert.deepEqual(auditOutcome(audit, { itemId: 'i', action: 'not_in_classes', label: '' }), {
    modelVersion: 3,
    modelLabel: 'dog',
    humanLabel: '',
    correct: false,
  });
  assert.equal(auditOutcome(audit, { itemId: 'i', action: 'skip', label: '' }), undefined);
  assert.equal(auditOutcome({ ...audit, reason: 'uncertain' }, { itemId: 'i', action: 'label', label: 'dog' }), undefined);
});

test('report: versions newest first, coverage, two-sided audit interval, labels saved', () => {
  const decision = (modelVersion: number, poolItems: number, autoLabelled: number) => ({
    modelVersion,
    scope: 'global' as const,
    thresholds: [],
    calibrationItems: 300,
    thresholdsTried: 16,
    targetError: 0.02,
    confidence: 0.95,
    autoLabelled,
    poolItems,
    auditItems: 10,
    suspectedLabelErrors: 4,
    reason: '',
  });
  const report = buildReport({
    targetError: 0.02,
    confidence: 0.95,
    scorings: [
      { modelVersion: 1, decision: decision(1, 1000, 100) },
      { modelVersion: 2, decision: decision(2, 800, 600) },
      { modelVersion: 3, decision: null },
    ],
    audits: new Map([[2, { audited: 400, errors: 2 }]]),
    queue: { uncertain: 1, audit: 2, suspectedLabelError: 3, leased: 1 },
    labels: { human: 5, model: 600, import: 0 },
  });
  assert.deepEqual(
    report.versions.map((v) => [v.modelVersion, v.coverage, v.audit.verdict]),
    [
      [3, 0, 'pending'],
      [2, 0.75, 'passed'],
      [1, 0.1, 'pending'],
    ],
  );
  const v2 = report.versions[1]!.audit;
  const interval = clopperPearsonInterval(2, 400, 0.05);
  assert.ok(Math.abs(v2.lower - interval.lower) < 1e-12 && Math.abs(v2.upper - interval.upper) < 1e-12);
  assert.ok(v2.upper < 0.02 && v2.lower > 0);
  assert.equal(v2.error, 0.005);
  // The newest version (3) auto-labelled nothing: nothing saved.
  assert.equal(report.estimatedLabelsSaved, 0);
  const passed = report.versions[1]!;
  assert.equal(estimateLabelsSaved(passed, 0.02), Math.floor(600 * (1 - v2.upper)));
  const pending = report.versions[2]!;
  assert.equal(estimateLabelsSaved(pending, 0.02), 98, '100 × (1 − ε) while the audit is pending');
  assert.equal(estimateLabelsSaved(undefined, 0.02), 0);
  const none = summarizeAudit(5, { audited: 0, errors: 0 }, { targetError: 0.02, confidence: 0.95 });
  assert.deepEqual([none.error, none.lower, none.upper, none.verdict], [0, 0, 1, 'pending']);
});
