// The snapshot manifest: one JSON line per item, written to S3 as it is built (a multipart upload
// fed through a stream, so the trainer never holds the whole list) and read back line by line.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import type { BlobStore } from '@labelloop/storage';
import type { LabelSourceName, SplitName } from '../../adapters/dataset-reader.js';
import type { SnapshotRole } from './snapshot-plan.js';

export interface ManifestLine {
  itemId: string;
  sha256: string;
  label: string;
  source: LabelSourceName;
  split: SplitName;
  /** RFC 3339. */
  labeledAt: string;
  role: SnapshotRole;
}

export function snapshotKey(datasetId: string, version: number): string {
  return `models/${datasetId}/${version}/snapshot.jsonl`;
}

/** A search trial's own snapshot, beside its checkpoints (never a model version's). */
export function trialSnapshotKey(datasetId: string, runId: string, trialId: string): string {
  return `models/${datasetId}/runs/${runId}/trials/${trialId}/snapshot.jsonl`;
}

export interface ManifestWriter {
  write(line: ManifestLine): Promise<void>;
  /** Ends the upload and waits until the object is stored. */
  close(): Promise<void>;
  /** Gives the upload up (nothing is stored). */
  abort(error: Error): Promise<void>;
}

export function createManifestWriter(blobs: BlobStore, key: string): ManifestWriter {
  const body = new PassThrough();
  const upload = blobs.put(key, body, { contentType: 'application/x-ndjson' });
  // Rejections are awaited in close/abort; until then, keep them from being "unhandled".
  upload.catch(() => undefined);
  return {
    async write(line) {
      if (!body.write(`${JSON.stringify(line)}\n`)) await Promise.race([once(body, 'drain'), upload]);
    },
    async close() {
      body.end();
      await upload;
    },
    async abort(error) {
      body.destroy(error);
      await upload.catch(() => undefined);
    },
  };
}

export async function* readManifest(blobs: BlobStore, key: string): AsyncGenerator<ManifestLine> {
  const lines = createInterface({ input: await blobs.getStream(key), crlfDelay: Infinity });
  for await (const text of lines) {
    if (text.trim()) yield JSON.parse(text) as ManifestLine;
  }
}
