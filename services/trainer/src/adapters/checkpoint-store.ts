import type { BlobStore } from '@labelloop/storage';
import type { JobCheckpoint } from '../domain/job/job-types.js';

// Per-epoch checkpoints of a run in S3 (models/<datasetId>/runs/<runId>/checkpoint/latest),
// so a run redelivered to another trainer resumes from its last finished epoch.
// Format: 4-byte header length, a JSON header {epoch, lengths}, then the float32 tensors.

export function checkpointKey(datasetId: string, runId: string): string {
  return `models/${datasetId}/runs/${runId}/checkpoint/latest`;
}

export class CheckpointStore {
  constructor(private readonly blobs: BlobStore) {}

  async save(key: string, epoch: number, weights: Float32Array[]): Promise<void> {
    const header = Buffer.from(JSON.stringify({ epoch, lengths: weights.map((w) => w.length) }));
    const size = Buffer.alloc(4);
    size.writeUInt32LE(header.length);
    const parts = weights.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength));
    // One object written whole: a reader never sees a half-written checkpoint.
    await this.blobs.put(key, Buffer.concat([size, header, ...parts]), { contentType: 'application/octet-stream' });
  }

  async load(key: string): Promise<JobCheckpoint | undefined> {
    if (!(await this.blobs.head(key))) return undefined;
    const bytes = await this.blobs.getBuffer(key);
    const headerLength = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as { epoch: number; lengths: number[] };
    let offset = 4 + headerLength;
    const weights = header.lengths.map((n) => {
      // Copy: the Buffer's offset need not be 4-byte aligned.
      const w = new Float32Array(n);
      Buffer.from(w.buffer).set(bytes.subarray(offset, offset + n * 4));
      offset += n * 4;
      return w;
    });
    return { epoch: header.epoch, weights };
  }

  async remove(key: string): Promise<void> {
    await this.blobs.delete(key);
  }
}
