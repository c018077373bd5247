import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { ExportRow } from '../src/export/export-row.js';
import { csvManifest, jsonlManifest } from '../src/export/manifest.js';

const rows: ExportRow[] = [
  {
    itemId: 'i-1',
    fileName: '1.png',
    sha256: 'a'.repeat(64),
    label: '7',
    labelSource: 'human',
    modelVersion: '',
    confidence: null,
    split: 'train',
    labeledAt: new Date('2024-05-01T10:20:30.456Z'),
  },
  {
    itemId: 'i-2',
    fileName: 'two, "quoted".png',
    sha256: 'b'.repeat(64),
    label: 'line\nbreak',
    labelSource: 'model',
    modelVersion: 'cnn-v3',
    confidence: 0.875,
    split: null,
    labeledAt: new Date('2024-05-02T00:00:00.000Z'),
  },
];

async function* source(list: ExportRow[]): AsyncIterable<ExportRow> {
  for (const r of list) yield r;
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

describe('manifests', () => {
  it('writes CSV with a header row, quoting where needed and empty fields for null', async () => {
    assert.equal(
      await text(csvManifest(source(rows))),
      'item_id,file_name,sha256,label,label_source,model_version,confidence,split,labeled_at\n' +
        `i-1,1.png,${'a'.repeat(64)},7,human,,,train,2024-05-01T10:20:30.456Z\n` +
        `i-2,"two, ""quoted"".png",${'b'.repeat(64)},"line\nbreak",model,cnn-v3,0.875,,2024-05-02T00:00:00.000Z\n`,
    );
  });

  it('writes one JSON object a line with the same columns', async () => {
    const lines = (await text(jsonlManifest(source(rows)))).split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(lines.map((l) => JSON.parse(l)), [
      {
        item_id: 'i-1', file_name: '1.png', sha256: 'a'.repeat(64), label: '7', label_source: 'human',
        model_version: '', confidence: null, split: 'train', labeled_at: '2024-05-01T10:20:30.456Z',
      },
      {
        item_id: 'i-2', file_name: 'two, "quoted".png', sha256: 'b'.repeat(64), label: 'line\nbreak',
        label_source: 'model', model_version: 'cnn-v3', confidence: 0.875, split: null,
        labeled_at: '2024-05-02T00:00:00.000Z',
      },
    ]);
  });

  it('writes just the header for no rows, and passes on a failing source', async () => {
    assert.equal((await text(csvManifest(source([])))).split('\n')[1], '');
    async function* failing(): AsyncIterable<ExportRow> {
      yield rows[0]!;
      throw new Error('database went away');
    }
    await assert.rejects(text(jsonlManifest(failing())), /database went away/);
  });
});
