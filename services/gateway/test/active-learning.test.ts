// The active-learning routes through the real gateway and a real dataset server: settings, a
// scoring job (the test plays the inference scorer over gRPC with planted probabilities), the
// review queue (leases, blind audits, answers), the report, and /predict while inference is down.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createGrpcChannel, createGrpcClient } from '@labelloop/common';
import { datasetV1 } from '@labelloop/proto';
import { mnistPng } from '@labelloop/testing';
import { Client, expectJson, expectProblem } from './support/http.js';
import { startStack, type Stack } from './support/stack.js';

const CLASSES = ['a', 'b'];
let stack: Stack;
let admin: Client;
let ada: Client;
let grace: Client;
let viewer: Client;
let datasetId: string;
let grpc: ReturnType<typeof createGrpcClient<typeof datasetV1.DatasetServiceDefinition>>;
let closeChannel: () => void;

interface Task {
  item: { id: string; fileName: string; label: unknown };
  reason: string;
  suggestions: Array<{ label: string; confidence: number }>;
  imageUrl: string;
  currentLabel: string | null;
  leaseExpiresAt: string;
}

before(async () => {
  stack = await startStack();
  admin = new Client(stack.baseUrl, stack.adminKey);
  const key = async (name: string, role: string) =>
    (await expectJson<{ key: string }>(await admin.send('POST', '/v1/api-keys', { name, role }), 201)).key;
  ada = admin.as(await key('ada', 'labeller'));
  grace = admin.as(await key('grace', 'labeller'));
  viewer = admin.as(await key('victor', 'viewer'));
  const channel = createGrpcChannel(stack.datasetAddr);
  closeChannel = () => channel.close();
  grpc = createGrpcClient(datasetV1.DatasetServiceDefinition, channel);
});
after(async () => {
  closeChannel?.();
  await stack?.close();
});

test('settings: defaults on create, validated replacement by admins only', async () => {
  const created = await expectJson<{ id: string; activeLearning: Record<string, unknown> }>(
    await admin.send('POST', '/v1/datasets', { name: 'al', classes: CLASSES, activeLearning: { strategy: 'entropy', auditMinimum: 2 } }),
    201,
  );
  datasetId = created.id;
  assert.deepEqual(created.activeLearning, {
    targetError: 0.02, confidence: 0.95, strategy: 'entropy', diversity: 'none', mcSamples: 20,
    auditShare: 0.02, auditMinimum: 2, leaseSeconds: 300, autoLabel: true,
  });
  const bad = await expectProblem(await admin.send('PUT', `/v1/datasets/${datasetId}/active-learning`, { targetError: 0.9 }), 400);
  assert.match(bad.detail, /targetError/);
  await expectProblem(await admin.send('PUT', `/v1/datasets/${datasetId}/active-learning`, { strategy: 'vibes' }), 400);
  await expectProblem(await admin.send('PUT', `/v1/datasets/${datasetId}/active-learning`, { unknown: 1 }), 400);
  await expectProblem(await ada.send('PUT', `/v1/datasets/${datasetId}/active-learning`, { strategy: 'margin' }), 403);
  const updated = await expectJson<{ activeLearning: Record<string, unknown> }>(
    await admin.send('PUT', `/v1/datasets/${datasetId}/active-learning`, { strategy: 'margin', auditMinimum: 2, leaseSeconds: 60 }),
    200,
  );
  assert.equal(updated.activeLearning.strategy, 'margin');
  assert.equal(updated.activeLearning.leaseSeconds, 60);
  assert.equal(updated.activeLearning.targetError, 0.02, 'omitted fields take their defaults');
});

test('a scored pool becomes a review queue: disjoint leases, blind audits, answers, the report', async () => {
  // 400 validation items labelled (calibration), 60 unlabelled pool items. Labels through the
  // upload route; the split ratios put them in train/validation/test, so read the splits back.
  const upload = async (from: number, count: number, label?: string) => {
    const files = await Promise.all(
      Array.from({ length: count }, async (_, i) => ({ name: `img-${from + i}.png`, content: await mnistPng('train', from + i) })),
    );
    for (let i = 0; i < files.length; i += 8) {
      const res = await ada.postForm(`/v1/datasets/${datasetId}/items`, label ? [['label', label]] : [], files.slice(i, i + 8));
      assert.equal(res.status, 201, await res.clone().text());
    }
  };
  await upload(0, 400, 'a');
  await upload(400, 60);

  // Empty queue before any scoring.
  const none = await expectJson<{ tasks: Task[]; remaining: number }>(await ada.get(`/v1/datasets/${datasetId}/review/next`), 200);
  assert.deepEqual(none, { tasks: [], remaining: 0 });

  // Calibration (validation) items: 10 predicted wrong at 0.7, the rest right at 0.999, so only a
  // threshold above 0.7 keeps the error bound within ε = 0.2. Pool items 0..39 at 0.999
  // (auto-labelled), 40..59 uncertain at 0.50..0.69 (margin grows with their number).
  await admin.send('PUT', `/v1/datasets/${datasetId}/active-learning`, { strategy: 'margin', auditMinimum: 2, targetError: 0.2 });
  const { job } = await grpc.beginScoring({ datasetId, modelId: 'm1', modelVersion: 1, artifactPrefix: `models/${datasetId}/1/`, shardSize: 100 });
  assert.ok(job);
  let wrongCalibration = 0;
  for (;;) {
    const { shard } = await grpc.claimScoringShard({ datasetId, worker: 'test-scorer', leaseSeconds: 60 });
    if (!shard) break;
    const predictions = [];
    for (const item of shard.items) {
      let probabilities = [0.999, 0.001];
      let acquisitionScore = 0;
      if (item.kind === datasetV1.ScoringKind.SCORING_KIND_CALIBRATION && wrongCalibration < 10) {
        wrongCalibration++;
        probabilities = [0.3, 0.7];
      } else if (item.kind === datasetV1.ScoringKind.SCORING_KIND_POOL) {
        const { item: full } = await grpc.getItem({ itemId: item.itemId });
        const n = Number(/img-(\d+)/.exec(full!.fileName)![1]) - 400;
        if (n >= 40) {
          const p = 0.5 + (n - 40) * 0.01; // item 40 is the most uncertain
          probabilities = [p, 1 - p];
          acquisitionScore = 1 - Math.abs(2 * p - 1);
        }
      }
      predictions.push({ itemId: item.itemId, probabilities, acquisitionScore, embedding: [] });
    }
    await grpc.recordPredictions({ shardId: shard.id, worker: 'test-scorer', predictions });
  }
  assert.equal(wrongCalibration, 10);
  const finished = await waitFor(async () => {
    const res = await expectJson<{ jobs: any[] }>(await viewer.get(`/v1/datasets/${datasetId}/scoring-jobs`), 200);
    const j = res.jobs[0];
    return j?.status === 'succeeded' ? j : undefined;
  });
  assert.equal(finished.modelVersion, 1);
  assert.equal(finished.itemsScored, finished.itemsTotal);
  assert.equal(finished.decision.scope, 'global', JSON.stringify(finished.decision));
  // float32 probabilities: the wrong predictions' 0.7 is stored as 0.69999999, just below the 0.7 threshold.
  assert.deepEqual([finished.decision.thresholds[0].threshold, finished.decision.thresholds[0].accepted, finished.decision.thresholds[0].errors], [0.7, 50, 0]);
  assert.ok(finished.decision.thresholds[0].errorUpperBound <= 0.2);
  assert.equal(finished.decision.autoLabelled, 40);
  const audits = finished.decision.auditItems;
  assert.equal(audits, 2, 'max(ceil(2 % of 40), minimum 2)');

  // Two labellers lease at once: disjoint tasks, uncertain ones best first.
  const [first, second] = await Promise.all([
    expectJson<{ tasks: Task[]; remaining: number }>(await ada.get(`/v1/datasets/${datasetId}/review/next?limit=11`), 200),
    expectJson<{ tasks: Task[]; remaining: number }>(await grace.get(`/v1/datasets/${datasetId}/review/next?limit=11`), 200),
  ]);
  const all = [...first.tasks, ...second.tasks];
  assert.equal(all.length, 22, 'the 20 uncertain items and the 2 audits');
  assert.equal(new Set(all.map((t) => t.item.id)).size, 22, 'no item leased twice');
  assert.equal(second.remaining, 0);
  const audit = all.filter((t) => t.reason === 'audit');
  assert.equal(audit.length, 2);
  for (const t of audit) {
    assert.equal(t.item.label, null, 'blind');
    assert.deepEqual(t.suggestions, []);
  }
  const uncertain = all.filter((t) => t.reason === 'uncertain');
  for (const t of uncertain) {
    assert.equal(t.imageUrl, `/v1/items/${t.item.id}/image`);
    assert.equal(t.suggestions.length, 2);
    assert.ok(t.suggestions[0]!.confidence >= t.suggestions[1]!.confidence);
  }
  const mostUncertain = [...first.tasks].find((t) => t.reason === 'uncertain')!;
  assert.equal(mostUncertain.item.fileName, 'img-440.png', 'the smallest margin is served first');

  // Answers: grace cannot answer ada's lease; ada labels, skips, says not-in-classes; an unknown class is refused.
  const mine = first.tasks.filter((t) => t.reason === 'uncertain');
  const stolen = await expectJson<any>(
    await grace.send('POST', `/v1/datasets/${datasetId}/review`, { answers: [{ itemId: mine[0]!.item.id, action: 'label', label: 'a' }] }),
    200,
  );
  assert.deepEqual([stolen.accepted, stolen.results[0].code], [0, 'lease_lost']);
  await expectProblem(await ada.send('POST', `/v1/datasets/${datasetId}/review`, { answers: [{ itemId: mine[0]!.item.id, action: 'label' }] }), 400);
  const answered = await expectJson<any>(
    await ada.send('POST', `/v1/datasets/${datasetId}/review`, {
      answers: [
        { itemId: mine[0]!.item.id, action: 'label', label: 'b' },
        { itemId: mine[1]!.item.id, action: 'skip' },
        { itemId: mine[2]!.item.id, action: 'not_in_classes' },
        { itemId: mine[3]!.item.id, action: 'label', label: 'zebra' },
      ],
    }),
    200,
  );
  assert.deepEqual(answered.results.map((r: any) => [r.accepted, r.code]), [[true, null], [true, null], [true, null], [false, 'unknown_class']]);
  assert.equal(answered.results[0].item.label.value, 'b');
  assert.equal(answered.results[0].item.label.source, 'human');
  assert.equal(answered.results[0].item.label.actor, 'ada');
  const excluded = await expectJson<{ status: string }>(await viewer.get(`/v1/items/${mine[2]!.item.id}`), 200);
  assert.equal(excluded.status, 'excluded');
  const history = await expectJson<{ events: unknown[] }>(await viewer.get(`/v1/items/${mine[0]!.item.id}/labels`), 200);
  assert.equal(history.events.length, 1, 'the answer is in the label history');

  // The audits answered: one agrees with the model ('a'), one does not.
  const auditAnswers = audit.map((t, i) => ({ itemId: t.item.id, action: 'label', label: i === 0 ? 'a' : 'b' }));
  for (const t of audit) {
    const owner = first.tasks.includes(t) ? ada : grace;
    const res = await expectJson<any>(
      await owner.send('POST', `/v1/datasets/${datasetId}/review`, { answers: auditAnswers.filter((a) => a.itemId === t.item.id) }),
      200,
    );
    assert.equal(res.accepted, 1);
  }

  const report = await expectJson<any>(await viewer.get(`/v1/datasets/${datasetId}/report`), 200);
  assert.equal(report.datasetId, datasetId);
  const v1 = report.versions[0];
  assert.equal(v1.modelVersion, 1);
  assert.equal(v1.poolItems, 60);
  assert.equal(v1.autoLabelled, 40);
  assert.ok(Math.abs(v1.autoLabelCoverage - 40 / 60) < 1e-9);
  assert.equal(v1.audit.audited, 2);
  assert.equal(v1.audit.errors, 1);
  assert.ok(v1.audit.lowerBound <= 0.5 && v1.audit.upperBound >= 0.5);
  assert.equal(v1.testAccuracy, null, 'the trainer is down: no model metrics, the rest still answered');
  assert.equal(report.labels.human, 400 + 2 + 1, 'uploads + the two audit answers + one review label');
  assert.ok(report.queue.uncertain >= 1);
  await expectProblem(await viewer.get(`/v1/datasets/${datasetId}/review/next`), 403);
  await expectProblem(await ada.get(`/v1/datasets/${datasetId}/review/next?limit=101`), 400);
  await expectProblem(await ada.get(`/v1/datasets/00000000-0000-0000-0000-000000000000/review/next`), 404);
});

test('predict: 503 problem while inference is down, 400 without files', async () => {
  const files = [{ name: 'x.png', content: await mnistPng('test', 0) }];
  const down = await expectProblem(await viewer.postForm(`/v1/datasets/${datasetId}/predict`, [], files), 503);
  assert.ok(down.detail.length > 0);
  await expectProblem(await viewer.postForm(`/v1/datasets/${datasetId}/predict`, [], []), 400);
  await expectProblem(await admin.as(undefined).postForm(`/v1/datasets/${datasetId}/predict`, [], files), 401);
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
