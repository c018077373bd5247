import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { commonV1, datasetV1 } from '@labelloop/proto';
import { Status } from 'nice-grpc';
import { DIGITS, digits, eventually, expectStatus, mapLimit } from './support/fixtures.js';
import { startHarness, uniqueName, type Harness } from './support/harness.js';

// ExportDataset as ZIP, CSV and JSONL; a ZIP export imported into a new dataset gives the same labels.

const { LABEL_SOURCE_HUMAN: HUMAN, LABEL_SOURCE_MODEL: MODEL } = commonV1.LabelSource;
const { EXPORT_FORMAT_ZIP: ZIP, EXPORT_FORMAT_CSV: CSV, EXPORT_FORMAT_JSONL: JSONL } = datasetV1.ExportFormat;

let h: Harness;
let datasetId: string;
const expected = new Map<
  string,
  { label: string; source: commonV1.LabelSource; confidence?: number; split: commonV1.Split }
>();

before(async () => {
  h = await startHarness();
  // 30 human labels, 10 model labels (confidence 0.5 or 0.95), 5 unlabelled items.
  datasetId = (await h.client.createDataset({ name: uniqueName('exp'), classes: DIGITS })).dataset!.id;
  const images = await digits(7000, 45);
  await mapLimit(images, 8, async (digit) => {
    const i = digit.index - 7000;
    const { item } = await h.client.uploadItem({
      datasetId,
      fileName: `img-${i % 7}.png`,
      content: digit.png,
      label: '',
      actor: '',
    });
    if (i >= 40) return;
    const model = i >= 30;
    const confidence = model ? (i % 2 === 0 ? 0.5 : 0.95) : undefined;
    const { item: labelled } = await h.client.setLabel({
      itemId: item!.id,
      label: digit.label,
      source: model ? MODEL : HUMAN,
      actor: model ? '' : 'ann',
      modelVersion: model ? 'm-1' : '',
      confidence,
    });
    expected.set(digit.sha256, {
      label: digit.label,
      source: labelled!.label!.source,
      confidence,
      split: labelled!.split,
    });
  });
});
after(async () => {
  await h?.close();
});

async function exportBytes(
  request: Partial<datasetV1.ExportDatasetRequest>,
): Promise<{ bytes: Buffer; chunks: number[] }> {
  const chunks: Buffer[] = [];
  for await (const { chunk } of h.client.exportDataset({ datasetId, format: ZIP, sources: [], ...request }))
    chunks.push(Buffer.from(chunk));
  return { bytes: Buffer.concat(chunks), chunks: chunks.map((c) => c.length) };
}

function parseCsv(text: string): string[][] {
  // The manifest has no quoted commas here (file names and labels are plain).
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(','));
}

test('CSV export: labelled items only, ordered by split, label, file name, with filters', async () => {
  const { bytes } = await exportBytes({ format: CSV });
  const [header, ...rows] = parseCsv(bytes.toString('utf8'));
  assert.deepEqual(header, [
    'item_id',
    'file_name',
    'sha256',
    'label',
    'label_source',
    'model_version',
    'confidence',
    'split',
    'labeled_at',
  ]);
  assert.equal(rows.length, 40);
  const splitRank = { train: 0, validation: 1, test: 2 } as Record<string, number>;
  const keys = rows.map((r) => [splitRank[r[7]!]!, r[3]!, r[1]!, r[0]!] as const);
  for (let i = 1; i < keys.length; i++) {
    const [a, b] = [keys[i - 1]!, keys[i]!];
    assert.ok(
      a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] <= b[2]))),
      `row ${i} out of order`,
    );
  }
  for (const row of rows) {
    const want = expected.get(row[2]!)!;
    assert.equal(row[3], want.label);
    assert.equal(row[4], want.source === MODEL ? 'model' : 'human');
  }

  const humans = parseCsv((await exportBytes({ format: CSV, sources: [HUMAN] })).bytes.toString('utf8')).slice(1);
  assert.equal(humans.length, 30);
  assert.ok(humans.every((r) => r[4] === 'human'));

  // Labels without a confidence (human) are kept; model labels below 0.9 are left out.
  const confident = parseCsv((await exportBytes({ format: CSV, minConfidence: 0.9 })).bytes.toString('utf8')).slice(1);
  assert.equal(confident.length, 35);
  assert.ok(confident.every((r) => r[4] === 'human' || Number(r[6]) >= 0.9));
  await expectStatus(exportBytes({ format: CSV, minConfidence: 2 }), Status.INVALID_ARGUMENT);
  await expectStatus(
    exportBytes({ format: datasetV1.ExportFormat.EXPORT_FORMAT_UNSPECIFIED }),
    Status.INVALID_ARGUMENT,
  );
  await expectStatus(exportBytes({ datasetId: '00000000-0000-4000-8000-000000000000' }), Status.NOT_FOUND);
});

test('JSONL export: one JSON object per labelled item', async () => {
  const { bytes } = await exportBytes({ format: JSONL, sources: [MODEL] });
  const lines = bytes
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 10);
  for (const line of lines) {
    const want = expected.get(line.sha256 as string)!;
    assert.equal(line.label, want.label);
    assert.equal(line.label_source, 'model');
    assert.equal(line.model_version, 'm-1');
    assert.equal(line.confidence, want.confidence);
    assert.equal(line.split, 'train', 'model labels are train only');
  }
});

test('ZIP export round trip: re-importing it into a new dataset gives the same labels and splits', async () => {
  const { bytes, chunks } = await exportBytes({ format: ZIP });
  assert.ok(chunks.every((size) => size <= 256 * 1024));
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');

  const target = (await h.client.createDataset({ name: uniqueName('copy'), classes: DIGITS })).dataset!;
  const { import: started } = await h.client.startImport(
    (async function* () {
      yield { header: { datasetId: target.id, fileName: 'export.zip', addMissingClasses: false, actor: 'ann' } };
      yield { chunk: bytes };
    })(),
  );
  const done = await eventually(async () => {
    const { import: record } = await h.client.getImport({ importId: started!.id });
    return record!.status === datasetV1.ImportStatus.IMPORT_STATUS_SUCCEEDED ? record : undefined;
  });
  assert.deepEqual([done!.created, done!.rejected], [40, 0]);

  const items = (await h.client.listItems({ datasetId: target.id, limit: 1000 })).items;
  assert.equal(items.length, 40);
  for (const item of items) {
    const want = expected.get(item.sha256);
    assert.ok(want, `item ${item.sha256} was exported`);
    assert.equal(item.label?.value, want.label);
    assert.equal(item.split, want.split, 'the export folder keeps the split');
  }
});
