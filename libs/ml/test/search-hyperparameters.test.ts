import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError } from '@labelloop/common';
import {
  best,
  createRandomSearch,
  createSuccessiveHalving,
  isFinished,
  proposeTrials,
  recordFailure,
  recordResult,
  requeueTrial,
  runSearch,
  type SearchState,
  type Trial,
} from '../src/search/index.js';

/** A stand-in objective with a known optimum: adam near lr 3e-3, improving with epochs. */
function objective(trial: Trial): number {
  const lrPenalty = (Math.log10(trial.params.learningRate) - Math.log10(3e-3)) ** 2;
  const optimizerBonus = { adam: 0.1, rmsprop: 0.05, momentum: 0.03, sgd: 0 }[trial.params.name];
  return 1 - 0.1 * lrPenalty + optimizerBonus - 0.5 / (1 + trial.budget);
}

test('random search: seeded, within the space, momentum only where it applies', () => {
  const space = { learningRate: { min: 1e-4, max: 1e-1 }, epochs: { min: 2, max: 10 }, momentum: { min: 0.8, max: 0.95 } };
  const a = createRandomSearch({ seed: 1, numTrials: 200, space });
  assert.deepEqual(createRandomSearch({ seed: 1, numTrials: 200, space }), a);
  assert.notDeepEqual(createRandomSearch({ seed: 2, numTrials: 200, space }).trials, a.trials);
  const trials = a.trials.map((r) => r.trial);
  assert.equal(new Set(trials.map((t) => t.trialId)).size, 200);
  assert.equal(new Set(trials.map((t) => t.seed)).size, 200);
  assert.deepEqual(new Set(trials.map((t) => t.params.name)), new Set(['sgd', 'momentum', 'adam', 'rmsprop']));
  const logLr = trials.map((t) => Math.log10(t.params.learningRate)).sort((x, y) => x - y);
  assert.ok(logLr[0]! >= -4 && logLr.at(-1)! <= -1);
  // Log-uniform: the median exponent is near the middle of [−4, −1].
  assert.ok(Math.abs(logLr[100]! + 2.5) < 0.3, `median log10 lr ${logLr[100]}`);
  for (const t of trials) {
    assert.ok(Number.isInteger(t.budget) && t.budget >= 2 && t.budget <= 10);
    if (t.params.name === 'momentum' || t.params.name === 'rmsprop') assert.ok(t.params.momentum! >= 0.8 && t.params.momentum! <= 0.95);
    else assert.equal(t.params.momentum, undefined);
  }
  assert.deepEqual(new Set(trials.map((t) => t.budget)).size, 9);
  assert.throws(() => createRandomSearch({ seed: 1, numTrials: 0 }), RangeError);
  assert.throws(() => createRandomSearch({ seed: 1, numTrials: 3, space: { learningRate: { min: 0, max: 1 } } }), RangeError);
});

test('random search via runSearch: best is the top trial by validation metric', async () => {
  const state = createRandomSearch({ seed: 3, numTrials: 30 });
  const { best: winner } = await runSearch(state, async (t) => ({ validationMetric: objective(t), note: t.configId }), { concurrency: 3 });
  assert.ok(isFinished(state));
  const bruteForce = state.trials.map((r) => r.trial).sort((p, q) => objective(q) - objective(p))[0]!;
  assert.equal(winner!.trial.trialId, bruteForce.trialId);
  assert.equal(winner!.result.validationMetric, objective(bruteForce));
  assert.equal(winner!.result.note, bruteForce.configId);
});

test('successive halving: rungs of 27, 9, 3, 1 configurations at 1, 3, 9, 27 epochs; the best third go on', async () => {
  const state = createSuccessiveHalving({ seed: 5, eta: 3, space: { epochs: { min: 1, max: 27 } } });
  assert.deepEqual(state.budgets, [1, 3, 9, 27]);
  const first = proposeTrials(state);
  assert.equal(first.length, 27);
  assert.ok(first.every((t) => t.budget === 1 && t.rung === 0));
  assert.deepEqual(proposeTrials(state), [], 'the next rung waits for this one');
  for (const t of first.slice(0, 26)) recordResult(state, t.trialId, { validationMetric: objective(t) });
  assert.deepEqual(proposeTrials(state), []);
  recordResult(state, first[26]!.trialId, { validationMetric: objective(first[26]!) });

  const second = proposeTrials(state);
  assert.equal(second.length, 9);
  const topNine = [...first].sort((p, q) => objective(q) - objective(p)).slice(0, 9).map((t) => t.configId);
  assert.deepEqual(new Set(second.map((t) => t.configId)), new Set(topNine));
  for (const t of second) {
    const before = first.find((f) => f.configId === t.configId)!;
    assert.deepEqual([t.params, t.seed, t.budget, t.rung], [before.params, before.seed, 3, 1]);
  }
  const { best: winner } = await runSearch(state, async (t) => ({ validationMetric: objective(t) }));
  assert.deepEqual(state.trials.map((r) => r.trial.rung).filter((r) => r === 2).length, 3);
  assert.equal(state.trials.length, 27 + 9 + 3 + 1);
  assert.equal(winner!.trial.budget, 27);
  // The winner is the rung-0 leader here, since the objective ranks configurations the same at every budget.
  assert.equal(winner!.trial.configId, topNine[0]);
  // Budgets for ranges that are not powers of eta: max/eta^k, rounded, never below min.
  assert.deepEqual(createSuccessiveHalving({ seed: 1, eta: 3, space: { epochs: { min: 1, max: 10 } } }).budgets, [1, 3, 10]);
  assert.deepEqual(createSuccessiveHalving({ seed: 1, eta: 2, space: { epochs: { min: 5, max: 5 } } }).budgets, [5]);
});

test('state machine: limits, idempotent results, failures, requeue, NaN, unknown ids', () => {
  const state = createSuccessiveHalving({ seed: 9, numConfigs: 6, eta: 2, space: { epochs: { min: 2, max: 8 } } });
  assert.deepEqual(state.budgets, [2, 4, 8]);
  const batch = proposeTrials(state, 4);
  assert.equal(batch.length, 4);
  requeueTrial(state, batch[3]!.trialId);
  assert.deepEqual(proposeTrials(state, 10).map((t) => t.trialId), [batch[3]!.trialId, 'c004-r0', 'c005-r0']);
  recordResult(state, 'c000-r0', { validationMetric: 0.9 });
  recordResult(state, 'c000-r0', { validationMetric: 0.1 }); // a duplicate delivery changes nothing
  recordFailure(state, 'c001-r0', 'out of memory');
  recordResult(state, 'c002-r0', { validationMetric: Number.NaN }); // diverged: counted as failed
  recordResult(state, 'c003-r0', { validationMetric: 0.5 });
  recordResult(state, 'c004-r0', { validationMetric: 0.7 });
  assert.throws(() => recordResult(state, 'nope', { validationMetric: 1 }), NotFoundError);
  assert.equal(state.trials[0]!.result!.validationMetric, 0.9);
  assert.equal(state.trials[2]!.status, 'failed');
  recordResult(state, 'c005-r0', { validationMetric: 0.6 });
  // Keep ⌊6/2⌋ = 3 of the 4 that completed.
  assert.deepEqual(proposeTrials(state).map((t) => t.trialId), ['c000-r1', 'c004-r1', 'c005-r1']);
  assert.equal(best(state)!.trial.trialId, 'c000-r0');
  assert.equal(isFinished(state), false);
});

test('a persisted state resumes to the same outcome; concurrency does not change it', async () => {
  const fresh = () => createSuccessiveHalving({ seed: 21, numConfigs: 12, eta: 2, space: { epochs: { min: 1, max: 8 } } });
  const runAll = async (concurrency: number): Promise<SearchState> => {
    const state = fresh();
    let running = 0;
    let peak = 0;
    await runSearch(
      state,
      async (t) => {
        running++;
        peak = Math.max(peak, running);
        await sleep((t.seed % 5) + 1); // trials finish out of order
        running--;
        return { validationMetric: objective(t) };
      },
      { concurrency },
    );
    assert.ok(peak <= concurrency, `peak ${peak}`);
    if (concurrency > 1) assert.ok(peak > 1, 'trials overlapped');
    return state;
  };
  const serial = await runAll(1);
  const parallel = await runAll(4);

  // A runner hands out 5 trials, 3 report back, then it dies; the persisted state is reloaded and finished.
  const interrupted = fresh();
  for (const t of proposeTrials(interrupted, 5).slice(0, 3)) recordResult(interrupted, t.trialId, { validationMetric: objective(t) });
  const resumed = JSON.parse(JSON.stringify(interrupted)) as SearchState;
  await runSearch(resumed, async (t) => ({ validationMetric: objective(t) }), { concurrency: 2 });

  const outcome = (s: SearchState) => s.trials.map((r) => [r.trial.trialId, r.status, r.result?.validationMetric]).sort();
  assert.equal(serial.trials.length, 12 + 6 + 3 + 1);
  assert.deepEqual(outcome(parallel), outcome(serial));
  assert.deepEqual(outcome(resumed), outcome(serial));
  assert.deepEqual(best(parallel), best(serial));
  assert.deepEqual(best(resumed), best(serial));
});

test('runSearch records a throwing trial as failed and goes on; minimize picks the lowest', async () => {
  const state = createRandomSearch({ seed: 4, numTrials: 6, goal: 'minimize' });
  const progress: number[] = [];
  const { best: winner } = await runSearch(
    state,
    async (t) => {
      if (t.trialId === 'c002') throw new Error('CUDA error');
      return { validationMetric: 1 - objective(t) };
    },
    { concurrency: 2, onProgress: (s) => void progress.push(s.trials.filter((r) => r.status !== 'running' && r.status !== 'pending').length) },
  );
  assert.equal(state.trials[2]!.status, 'failed');
  assert.equal(state.trials[2]!.error, 'CUDA error');
  // One call per finished trial; each sees at least as many finished as the one before.
  assert.equal(progress.length, 6);
  assert.ok(progress.every((v, i) => i === 0 || v >= progress[i - 1]!) && progress.at(-1) === 6, `${progress}`);
  const lowest = state.trials.filter((r) => r.status === 'completed').sort((a, b) => a.result!.validationMetric - b.result!.validationMetric)[0]!;
  assert.equal(winner!.trial.trialId, lowest.trial.trialId);
});
