import { InvalidArgumentError } from '@labelloop/common';
import { datasetV1 } from '@labelloop/proto';
import { ingestBatch, type BatchFile } from '../domain/ingest-batch.js';
import type { IngestDeps, IngestResult } from '../domain/ingest-item.js';
import { validateLabelRequest } from '../domain/label-plan.js';
import type { Dataset, LabelRequest } from '../domain/types.js';
import { fileErrorToProto, itemToProto } from './convert.js';

// UploadItems: a client stream of files, stored in chunks (ingestBatch: one duplicate query, parallel
// S3 puts and one transaction per chunk). The stream is read no further while a chunk is stored,
// so memory stays at about one chunk per call and the sender feels the backpressure.

/** Files per chunk, and bytes: whichever is reached first closes the chunk. */
export const UPLOAD_CHUNK_FILES = 64;
export const UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024;

export interface UploadItemsDeps {
  datasets: { get(id: string): Promise<Dataset> };
  ingest: IngestDeps;
}

export async function uploadItems(
  deps: UploadItemsDeps,
  requests: AsyncIterable<datasetV1.UploadItemsRequest>,
): Promise<datasetV1.UploadItemsResponse> {
  const results: datasetV1.UploadItemResponse[] = [];
  let dataset: Dataset | undefined;
  let chunk: BatchFile[] = [];
  let chunkBytes = 0;
  const flush = async () => {
    if (!dataset || chunk.length === 0) return;
    const stored = await ingestBatch(deps.ingest, dataset, chunk);
    results.push(...stored.map(uploadResultToProto));
    chunk = [];
    chunkBytes = 0;
  };

  for await (const request of requests) {
    // The first message names the dataset: a missing one fails the call before anything is stored.
    dataset ??= await deps.datasets.get(request.datasetId);
    if (request.datasetId !== dataset.id) {
      throw new InvalidArgumentError('every UploadItems message must name the same dataset_id');
    }
    const label = labelOf(request);
    if (label) checkLabel(dataset, label);
    chunk.push({ fileName: request.fileName, bytes: request.content, label });
    chunkBytes += request.content.length;
    if (chunk.length >= UPLOAD_CHUNK_FILES || chunkBytes >= UPLOAD_CHUNK_BYTES) await flush();
  }
  await flush();
  return { results };
}

function labelOf(request: { label: string; actor: string }): LabelRequest | undefined {
  if (!request.label) return undefined;
  return { value: request.label, source: 'human', actor: request.actor, confidence: null, modelVersion: '' };
}

/** Checked as each message arrives; `field: 'label'` lets the gateway name the form field. */
function checkLabel(dataset: Dataset, label: LabelRequest): void {
  try {
    validateLabelRequest(dataset.classes, label);
  } catch (err) {
    if (err instanceof InvalidArgumentError) {
      throw new InvalidArgumentError(err.message, { ...err.details, field: 'label', label: label.value });
    }
    throw err;
  }
}

export function uploadResultToProto(result: IngestResult): datasetV1.UploadItemResponse {
  switch (result.outcome) {
    case 'rejected':
      return {
        outcome: datasetV1.UploadOutcome.UPLOAD_OUTCOME_REJECTED,
        item: undefined,
        error: fileErrorToProto(result.error),
      };
    case 'created':
      return { outcome: datasetV1.UploadOutcome.UPLOAD_OUTCOME_CREATED, item: itemToProto(result.item), error: undefined };
    case 'duplicate':
      return { outcome: datasetV1.UploadOutcome.UPLOAD_OUTCOME_DUPLICATE, item: itemToProto(result.item), error: undefined };
  }
}
