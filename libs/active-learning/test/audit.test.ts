import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '@labelloop/common';
import { auditVerdict, clopperPearsonInterval, sampleAudit } from '../src/index.js';

const target = { targetError: 0.02, confidence: 0.95 };

describe('sampleAudit', () => {
  it('draws ceil(share·n), at least the minimum, without replacement', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `item-${i}`);
    const sample = sampleAudit(ids, 0.02, 5, createRng(1).next);
    assert.equal(sample.length, 20);
    assert.equal(new Set(sample).size, 20);
    assert.ok(sample.every((id) => ids.includes(id)));
    assert.equal(sampleAudit(ids, 0.001, 5, createRng(1).next).length, 5);
    assert.equal(sampleAudit(ids.slice(0, 3), 0.02, 5, createRng(1).next).length, 3);
    assert.equal(sampleAudit(ids.slice(0, 101), 0.02, 0, createRng(1).next).length, 3);
    assert.deepEqual(sampleAudit(ids, 0.02, 5, createRng(9).next), sampleAudit(ids, 0.02, 5, createRng(9).next));
    assert.deepEqual(sampleAudit([], 0.02, 5, createRng(1).next), []);
  });

  it('is uniform: each id is drawn about equally often', () => {
    const random = createRng(3).next;
    const counts = new Array<number>(10).fill(0);
    for (let r = 0; r < 5000; r++) for (const id of sampleAudit([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 0.2, 0, random)) counts[id]!++;
    // 1,000 expected each (binomial sd ≈ 28).
    for (const c of counts) assert.ok(Math.abs(c - 1000) < 120, `counts ${counts.join(',')}`);
  });
});

describe('auditVerdict', () => {
  it('stays pending while even an error-free audit could not pass', () => {
    const v = auditVerdict(50, 0, target);
    assert.equal(v.verdict, 'pending');
    assert.equal(v.auditsToDecide, 183);
    assert.ok(v.upper > 0.02);
    assert.equal(auditVerdict(0, 0, target).verdict, 'pending');
    assert.equal(auditVerdict(182, 0, target).verdict, 'pending');
  });

  it('passes when the upper bound is ≤ ε', () => {
    const v = auditVerdict(183, 0, target);
    assert.equal(v.verdict, 'passed');
    assert.ok(v.upper <= 0.02);
    assert.equal(auditVerdict(1000, 8, target).verdict, 'passed');
    assert.deepEqual({ lower: v.lower, upper: v.upper }, clopperPearsonInterval(0, 183, 0.05));
  });

  it('fails on significant evidence, or when enough audits still cannot confirm ε', () => {
    const early = auditVerdict(40, 5, target); // 12.5 %: the lower bound is above 2 % already
    assert.equal(early.verdict, 'failed');
    assert.ok(early.lower > 0.02);
    assert.equal(early.error, 5 / 40);
    assert.equal(auditVerdict(40, 1, target).verdict, 'pending');
    const late = auditVerdict(300, 3, target); // 1 %, but the bound reaches 2.9 %
    assert.equal(late.verdict, 'failed');
    assert.ok(late.lower <= 0.02 && late.upper > 0.02);
  });
});
