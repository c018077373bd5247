import { InvalidArgumentError, type Logger } from '@labelloop/common';
import { ImageRejectedError, inspectImage, type ImageInfo, type ImageLimits } from '../ingest/index.js';
import { validateLabelRequest } from './label-plan.js';
import type { Dataset, FileError, Item, LabelRequest, UploadOutcome } from './types.js';

// The one path every image takes in, for single uploads and for import entries alike:
// inspect → duplicate check → store the object → insert the row (with its outbox events) in
// one transaction. A rejected file leaves neither a row nor an object behind.

export const MAX_FILE_NAME_LENGTH = 255;

/** Image objects, content-addressed by dataset and SHA-256. */
export interface ImageObjects {
  put(datasetId: string, sha256: string, bytes: Buffer, format: string): Promise<void>;
  delete(datasetId: string, sha256: string): Promise<void>;
}

export interface NewItemInput {
  sha256: string;
  fileName: string;
  width: number;
  height: number;
  format: string;
  sizeBytes: number;
  importId: string | null;
}

/** The item storage the ingest path needs (adapters/item-repository.ts). */
export interface IngestItems {
  findBySha(datasetId: string, sha256: string): Promise<Item | undefined>;
  /** The dataset's items with any of these hashes, by hash (one query). */
  findManyBySha(datasetId: string, sha256s: readonly string[]): Promise<Map<string, Item>>;
  insert(dataset: Dataset, item: NewItemInput, label?: LabelRequest): Promise<{ item: Item; created: boolean }>;
  /** insert() for several items in ONE transaction; results in the same order. */
  insertMany(
    dataset: Dataset,
    entries: ReadonlyArray<{ item: NewItemInput; label?: LabelRequest | undefined }>,
  ): Promise<Array<{ item: Item; created: boolean }>>;
  labelIfUnlabelled(itemId: string, request: LabelRequest): Promise<{ item: Item; changed: boolean }>;
}

export interface IngestDeps {
  items: IngestItems;
  objects: ImageObjects;
  limits: ImageLimits;
  logger: Logger;
  /** Counts each outcome (metrics). */
  counted?: (outcome: UploadOutcome) => void;
}

export interface IngestInput {
  dataset: Dataset;
  fileName: string;
  bytes: Buffer;
  label?: LabelRequest;
  importId?: string;
}

export type IngestResult = { outcome: 'created' | 'duplicate'; item: Item } | { outcome: 'rejected'; error: FileError };

export async function ingestItem(deps: IngestDeps, input: IngestInput): Promise<IngestResult> {
  const result = await ingest(deps, input);
  deps.counted?.(result.outcome);
  return result;
}

/** A bad label or name is the caller's mistake, not the file's: an error, not a rejection. */
export function checkIngestInput(dataset: Dataset, fileName: string, label: LabelRequest | undefined): void {
  if (label) validateLabelRequest(dataset.classes, label);
  if ([...fileName].length > MAX_FILE_NAME_LENGTH) {
    throw new InvalidArgumentError(`file name must be at most ${MAX_FILE_NAME_LENGTH} characters`);
  }
}

/** The image's facts, or the rejection to answer for it. */
export async function inspectOrReject(
  limits: ImageLimits,
  fileName: string,
  bytes: Buffer,
): Promise<{ info: ImageInfo } | { rejected: FileError }> {
  try {
    return { info: await inspectImage(bytes, limits) };
  } catch (err) {
    if (err instanceof ImageRejectedError) return { rejected: { fileName, code: err.code, reason: err.reason } };
    throw err;
  }
}

async function ingest(deps: IngestDeps, input: IngestInput): Promise<IngestResult> {
  const { dataset, fileName, bytes, label } = input;
  checkIngestInput(dataset, fileName, label);

  const inspected = await inspectOrReject(deps.limits, fileName, bytes);
  if ('rejected' in inspected) return { outcome: 'rejected', error: inspected.rejected };
  const { info } = inspected;

  const existing = await deps.items.findBySha(dataset.id, info.sha256);
  if (existing) return duplicate(deps, existing, label);

  await deps.objects.put(dataset.id, info.sha256, bytes, info.format);
  try {
    const { item, created } = await deps.items.insert(
      dataset,
      {
        sha256: info.sha256,
        fileName,
        width: info.width,
        height: info.height,
        format: info.format,
        sizeBytes: bytes.length,
        importId: input.importId ?? null,
      },
      label,
    );
    // Someone stored the same bytes first: theirs is the item (and the object is shared).
    if (!created) return duplicate(deps, item, label);
    return { outcome: 'created', item };
  } catch (err) {
    await removeUnreferencedObject(deps, dataset.id, info.sha256);
    throw err;
  }
}

/** Re-uploading the same bytes returns the existing item; an upload's label fills an empty one. */
export async function duplicate(deps: IngestDeps, item: Item, label: LabelRequest | undefined): Promise<IngestResult> {
  if (label && !item.label) item = (await deps.items.labelIfUnlabelled(item.id, label)).item;
  return { outcome: 'duplicate', item };
}

/** After a failed insert the object is garbage unless a concurrent upload's row points at it. */
export async function removeUnreferencedObject(deps: IngestDeps, datasetId: string, sha256: string): Promise<void> {
  try {
    if (await deps.items.findBySha(datasetId, sha256)) return;
    await deps.objects.delete(datasetId, sha256);
  } catch (err) {
    // The database or S3 is failing too; the object stays and the original error is what matters.
    deps.logger.warn({ err, datasetId, sha256 }, 'could not remove object after failed insert');
  }
}
