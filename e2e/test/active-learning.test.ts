import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mnistLabel, mnistPng } from '@labelloop/testing';
import { type Api, archiveForm, filesForm, waitFor } from '../src/api.js';
import { type RunningSystem, startSystem } from '../src/system.js';
import { buildZip } from '../src/zip.js';

// Issue 5's "must show", REST only, against the system as `npm start` runs it (real NATS, S3,
// PostgreSQL-compatible PGlite, one process per service): a 10-class MNIST dataset with 20 human
// labels (2 a class) and a pool of 5,000 unlabelled digits, plus a team's labelled held-out data
// (imported: 2,000 validation digits that calibrate the auto-label threshold and 1,000 test digits
// that measure accuracy). Two simulated labellers answer the review queue from the true MNIST
// labels for several rounds; the retrain policy retrains after every 100 human labels; each
// promoted champion scores the pool. Test accuracy rises round by round, auto-labels appear once
// the error bound allows them, and their true error stays within ε.

const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const TARGET_ERROR = 0.02;
const POOL = { from: 100, count: 5000 };
const LABELS_PER_ROUND = 100;
const ROUNDS = 4;

let system: RunningSystem;
before(async () => {
  system = await startSystem();
});
after(async () => {
  await system?.close();
});

/** The MNIST truth of an item, from the file name the test gave it (pool-/seed-<train index>, heldout-<test index>). */
function truthOf(fileName: string): string {
  const match = /^(pool|seed|heldout)-(\d+)\.png$/.exec(fileName);
  assert.ok(match, `an item of the test: ${fileName}`);
  return String(mnistLabel(match[1] === 'heldout' ? 'test' : 'train', Number(match[2])));
}

async function listItems(api: Api, datasetId: string, filter: string): Promise<any[]> {
  const items: any[] = [];
  let cursor = '';
  do {
    const page = await api.get(`/v1/datasets/${datasetId}/items?${filter}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    items.push(...page.body.items);
    cursor = page.body.nextCursor ?? '';
  } while (cursor);
  return items;
}

/** The newest model of the dataset once its version is above `after`. */
async function nextModel(api: Api, datasetId: string, afterVersion: number): Promise<any> {
  return waitFor(
    async () => {
      const res = await api.get(`/v1/datasets/${datasetId}/models`);
      if (res.status === 503) return undefined;
      const newest = res.body.models?.[0];
      return newest && newest.version > afterVersion ? newest : undefined;
    },
    15 * 60_000,
    `a model after version ${afterVersion}`,
  );
}

/** The scoring job of a promoted version, once it has finished (succeeded or not). */
async function scoringOf(api: Api, datasetId: string, version: number): Promise<any> {
  return waitFor(
    async () => {
      const res = await api.get(`/v1/datasets/${datasetId}/scoring-jobs`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const job = res.body.jobs.find((j: any) => j.modelVersion === version);
      return job && ['succeeded', 'failed', 'superseded'].includes(job.status) ? job : undefined;
    },
    10 * 60_000,
    `scoring by version ${version}`,
  );
}

interface RoundFigures {
  version: number;
  status: string;
  humanLabels: number;
  testAccuracy: number;
  autoLabelled: number;
  autoLabelTrueError: number | null;
  decision: string;
}

test('active learning on MNIST: accuracy rises round by round, auto-labels appear and stay within ε', async (t) => {
  const { admin } = system;
  const created = await admin.post('/v1/datasets', {
    name: 'digits-al',
    classes: CLASSES,
    image: { width: 28, height: 28, channels: 1 },
    activeLearning: { strategy: 'margin', targetError: TARGET_ERROR, confidence: 0.95, auditShare: 0.02, auditMinimum: 5 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const datasetId: string = created.body.id;
  assert.deepEqual(
    { ...created.body.activeLearning },
    { targetError: 0.02, confidence: 0.95, strategy: 'margin', diversity: 'none', mcSamples: 20, auditShare: 0.02, auditMinimum: 5, leaseSeconds: 300, autoLabel: true },
  );

  // Labellers: two keys of role labeller.
  const labellers: Api[] = [];
  for (const name of ['ada', 'grace']) {
    const key = await admin.post('/v1/api-keys', { name, role: 'labeller' });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    labellers.push(admin.withKey(key.body.key));
  }

  // The team's held-out data and the unlabelled pool, in one archive.
  const entries: Array<[string, Buffer]> = [];
  for (let i = 0; i < 3000; i++) {
    const split = i < 2000 ? 'validation' : 'test';
    entries.push([`${split}/${mnistLabel('test', i)}/heldout-${i}.png`, await mnistPng('test', i)]);
  }
  for (let i = POOL.from; i < POOL.from + POOL.count; i++) entries.push([`unlabelled/pool-${i}.png`, await mnistPng('train', i)]);
  const started = await admin.post(`/v1/datasets/${datasetId}/imports`, archiveForm(await buildZip(entries), 'digits.zip'));
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const imported = await waitFor(
    async () => {
      const job = (await admin.get(`/v1/imports/${started.body.id}`)).body;
      return ['succeeded', 'failed'].includes(job.status) ? job : undefined;
    },
    300_000,
    'the import',
  );
  assert.equal(imported.status, 'succeeded', JSON.stringify(imported));
  assert.equal(imported.created, 3000 + POOL.count);

  // 20 human labels, 2 a class (the first two of each digit in MNIST train 0..99).
  const seeds = new Map<string, number[]>();
  for (let i = 0; i < POOL.from; i++) {
    const digit = String(mnistLabel('train', i));
    const list = seeds.get(digit) ?? [];
    if (list.length < 2) seeds.set(digit, [...list, i]);
  }
  for (const [digit, indices] of seeds) {
    const files = await Promise.all(indices.map(async (i) => ({ name: `seed-${i}.png`, bytes: await mnistPng('train', i) })));
    const uploaded = await labellers[0]!.post(`/v1/datasets/${datasetId}/items`, filesForm(files, digit));
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  }
  const humanTrain = await listItems(admin, datasetId, 'source=human');
  assert.equal(humanTrain.length, 20);
  assert.ok(humanTrain.every((item) => item.split === 'train'), 'the held-out splits are full: human labels train');

  // Before any model: the queue is empty and prediction has no champion.
  const empty = await labellers[0]!.get(`/v1/datasets/${datasetId}/review/next?limit=5`);
  assert.equal(empty.status, 200, JSON.stringify(empty.body));
  assert.deepEqual(empty.body.tasks, []);

  // Retrain after every 100 human labels; the first model is started by hand. With 100 test digits
  // a class, a class's recall moves by ±4 % between models by chance alone: allow a 15 % drop (the
  // default 5 % kept better models from promotion about half the time in trial runs).
  const policy = await admin.put(`/v1/datasets/${datasetId}/retrain-policy`, { everyHumanLabels: LABELS_PER_ROUND, maxRecallDrop: 0.15 });
  assert.equal(policy.status, 200, JSON.stringify(policy.body));
  await waitFor(
    async () => {
      const run = await admin.post(`/v1/datasets/${datasetId}/training-runs`);
      if (run.status === 503) return undefined;
      assert.equal(run.status, 202, JSON.stringify(run.body));
      return run.body;
    },
    120_000,
    'the trainer to accept the first run',
  );

  const rounds: RoundFigures[] = [];
  let version = 0;
  let championAccuracy = 0;
  const answeredItems = new Set<string>();
  let secondLooks = 0;
  for (let round = 0; ; round++) {
    // The model trained on what is labelled now, and (when it became champion) its scoring.
    const model = await nextModel(admin, datasetId, version);
    version = model.version;
    let autoLabelled = 0;
    let trueError: number | null = null;
    let decision = 'not champion: no scoring';
    if (model.status === 'champion') {
      const job = await scoringOf(admin, datasetId, version);
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      assert.equal(job.itemsScored, job.itemsTotal);
      decision = job.decision.scope ? `${job.decision.scope} threshold ${job.decision.thresholds.map((x: any) => x.threshold).join('/')}` : job.decision.reason;
      // Every model label now in the dataset is this version's, and its true error is within ε.
      const modelLabelled = await listItems(admin, datasetId, 'source=model');
      autoLabelled = modelLabelled.length;
      if (autoLabelled > 0) {
        for (const item of modelLabelled) {
          assert.equal(item.label.modelVersion, String(version), 'auto-labels carry their model version');
          assert.ok(item.label.confidence >= Math.min(...job.decision.thresholds.map((x: any) => x.threshold)) - 1e-9);
        }
        const wrong = modelLabelled.filter((item) => item.label.value !== truthOf(item.fileName)).length;
        trueError = wrong / autoLabelled;
        assert.ok(trueError <= TARGET_ERROR, `true error of ${autoLabelled} auto-labels is ${trueError}, above ε`);
      }
      championAccuracy = model.metrics.test.accuracy;
    }
    rounds.push({
      version,
      status: model.status,
      humanLabels: model.snapshot.humanLabels,
      testAccuracy: model.metrics.test.accuracy,
      autoLabelled,
      autoLabelTrueError: trueError,
      decision,
    });
    t.diagnostic(`round ${round}: ${JSON.stringify(rounds.at(-1))}`);
    process.stderr.write(`round ${round}: ${JSON.stringify(rounds.at(-1))}\n`);
    if (round === ROUNDS) break;

    // The labellers answer the next 100 tasks from the truth; the two never get the same item.
    let answered = 0;
    while (answered < LABELS_PER_ROUND) {
      const leases = await Promise.all(labellers.map((api) => api.get(`/v1/datasets/${datasetId}/review/next?limit=25`)));
      for (const lease of leases) assert.equal(lease.status, 200, JSON.stringify(lease.body));
      const [a, b] = leases.map((lease) => lease.body.tasks as any[]);
      const ids = [...a!, ...b!].map((task) => task.item.id);
      assert.equal(new Set(ids).size, ids.length, 'no item is leased to both labellers');
      assert.ok(ids.length > 0, 'the queue has work');
      for (const [i, api] of labellers.entries()) {
        const tasks = leases[i]!.body.tasks as any[];
        if (tasks.length === 0) continue;
        for (const task of tasks) {
          assert.equal(task.imageUrl, `/v1/items/${task.item.id}/image`);
          if (task.reason === 'audit') {
            assert.equal(task.item.label, null, 'an audit is blind');
            assert.deepEqual(task.suggestions, []);
          } else if (task.reason === 'uncertain') {
            assert.ok(task.suggestions.length > 0 && task.suggestions.length <= 3);
          } else {
            assert.equal(task.reason, 'suspected_label_error');
            assert.ok(task.currentLabel);
          }
        }
        const answers = tasks.map((task) => ({ itemId: task.item.id, action: 'label', label: truthOf(task.item.fileName) }));
        const res = await api.post(`/v1/datasets/${datasetId}/review`, { answers });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.accepted, tasks.length, JSON.stringify(res.body.results.filter((r: any) => !r.accepted)));
        for (const task of tasks) {
          // An answered item comes back only for a second look, when a later model contradicts
          // the answer with high confidence; the task then shows the answer under suspicion.
          if (answeredItems.has(task.item.id)) {
            assert.equal(task.reason, 'suspected_label_error', 'an answered item is served again only as a suspected label error');
            assert.equal(task.currentLabel, truthOf(task.item.fileName));
            secondLooks++;
          }
          answeredItems.add(task.item.id);
        }
        answered += tasks.length;
      }
    }
  }

  // Accuracy rises: every champion at least as good as the one before (within noise), and the
  // last well above the first.
  const champions = rounds.filter((r) => r.status !== 'candidate');
  t.diagnostic(`rounds: ${JSON.stringify(rounds)}; answered items served again as suspected label errors: ${secondLooks}`);
  assert.ok(rounds.at(-1)!.humanLabels >= 20 + ROUNDS * LABELS_PER_ROUND - 10, 'the labels reached the trainer');
  for (let i = 1; i < rounds.length; i++) {
    assert.ok(rounds[i]!.humanLabels > rounds[i - 1]!.humanLabels, 'each round trains on more human labels');
  }
  assert.ok(championAccuracy >= rounds[0]!.testAccuracy + 0.1, `accuracy rose: ${rounds.map((r) => r.testAccuracy).join(' → ')}`);
  for (let i = 1; i < champions.length; i++) {
    assert.ok(champions[i]!.testAccuracy >= champions[i - 1]!.testAccuracy - 0.02, 'a champion is never clearly worse');
  }
  // Auto-labels appeared once the bound allowed them, with their true error within ε (checked above).
  assert.ok(rounds.some((r) => r.autoLabelled > 0), `auto-labels appeared: ${rounds.map((r) => r.decision).join(' | ')}`);

  // The report: per version, labels used, accuracy, coverage, audits; the same dataset's queue.
  const report = await admin.get(`/v1/datasets/${datasetId}/report`);
  assert.equal(report.status, 200, JSON.stringify(report.body));
  const latest = report.body.versions[0];
  assert.equal(latest.modelVersion, version);
  assert.equal(latest.humanLabels, rounds.at(-1)!.humanLabels);
  assert.equal(latest.testAccuracy, rounds.at(-1)!.testAccuracy);
  assert.ok(report.body.versions.every((v: any, i: number, all: any[]) => i === 0 || v.modelVersion < all[i - 1].modelVersion));
  const scored = report.body.versions.find((v: any) => v.autoLabelled > 0);
  assert.ok(scored.autoLabelCoverage > 0 && scored.autoLabelCoverage <= 1);
  assert.ok(scored.audit, 'audited versions report their audit');
  assert.equal(report.body.labels.human, answeredItems.size + 20);
  assert.ok(report.body.estimatedLabelsSaved >= 0);
  t.diagnostic(`report: ${JSON.stringify({ ...report.body, versions: report.body.versions.map((v: any) => ({ ...v, decision: undefined })) })}`);
});
