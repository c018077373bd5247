import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemainingCount } from '../src/adapters/remaining-count.js';

// The `remaining` of a lease: exact for a small queue, a recent full count for a large one.

function fixture(open: () => number) {
  let now = 0;
  let fullCounts = 0;
  const counter = new RemainingCount({
    probe: async (_datasetId, upTo) => (open() <= upTo ? open() : undefined),
    countAll: async () => {
      fullCounts++;
      await new Promise((r) => setTimeout(r, 5));
      return open();
    },
    exactUpTo: 100,
    maxAgeMs: 2000,
    now: () => now,
  });
  return { counter, fullCounts: () => fullCounts, advance: (ms: number) => (now += ms) };
}

test('a queue of up to exactUpTo tasks is counted exactly every time, with no full count', async () => {
  let open = 100;
  const { counter, fullCounts } = fixture(() => open);
  assert.equal(await counter.of('d'), 100);
  open = 3;
  assert.equal(await counter.of('d'), 3);
  assert.equal(fullCounts(), 0);
});

const settle = () => new Promise((r) => setTimeout(r, 20));

test('a large queue: one full count shared by concurrent leases; once maxAgeMs old it is refreshed behind the next lease', async () => {
  let open = 50_000;
  const { counter, fullCounts, advance } = fixture(() => open);
  assert.deepEqual(await Promise.all([counter.of('d'), counter.of('d'), counter.of('d')]), [50_000, 50_000, 50_000]);
  assert.equal(fullCounts(), 1);
  open = 49_990;
  advance(2000);
  assert.equal(await counter.of('d'), 50_000, 'still fresh enough');
  assert.equal(fullCounts(), 1);
  advance(1);
  assert.equal(await counter.of('d'), 50_000, 'stale: answered at once from the last count...');
  await settle();
  assert.equal(fullCounts(), 2, '...while a new count runs');
  assert.equal(await counter.of('d'), 49_990);
});

test('a stale count never says the queue is small when the probe saw it is not', async () => {
  let open = 5000;
  const { counter, advance } = fixture(() => open);
  assert.equal(await counter.of('d'), 5000);
  open = 150;
  advance(10);
  assert.equal(await counter.of('d'), 5000, 'within maxAgeMs');
  advance(5000);
  await counter.of('d');
  await settle();
  assert.equal(await counter.of('d'), 150);
  open = 101;
  assert.equal(await counter.of('d'), 150, 'the probe saw more than 100: never below 101');
  open = 100;
  assert.equal(await counter.of('d'), 100, 'exact again once small');
});

test('a failed refresh keeps the last count and is tried again', async () => {
  let fail = false;
  let now = 0;
  const counter = new RemainingCount({
    probe: async () => undefined,
    countAll: async () => {
      if (fail) throw new Error('database unavailable');
      return 7000;
    },
    maxAgeMs: 1000,
    now: () => now,
  });
  assert.equal(await counter.of('d'), 7000);
  fail = true;
  now += 5000;
  assert.equal(await counter.of('d'), 7000);
  await settle();
  assert.equal(await counter.of('d'), 7000);
});

test('each dataset has its own count', async () => {
  const sizes: Record<string, number> = { a: 1000, b: 2000 };
  const counter = new RemainingCount({
    probe: async (id, upTo) => (sizes[id]! <= upTo ? sizes[id] : undefined),
    countAll: async (id) => sizes[id]!,
  });
  assert.equal(await counter.of('a'), 1000);
  assert.equal(await counter.of('b'), 2000);
});
