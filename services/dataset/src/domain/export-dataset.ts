import { PassThrough, type Readable } from 'node:stream';
import { InvalidArgumentError } from '@labelloop/common';
import { csvManifest, jsonlManifest, writeZipExport, type ExportRow } from '../export/index.js';
import type { Dataset, Item, LabelSource, Split } from './types.js';

// ExportDataset: labelled items in export order (split, label, file name, id), read in keyset
// pages so memory stays flat, turned into a ZIP, CSV or JSONL byte stream and handed out in
// chunks of at most 256 KiB. The consumer pulls: nothing is read ahead of what it takes.

export type ExportFormat = 'zip' | 'csv' | 'jsonl';

export const EXPORT_PAGE_SIZE = 500;
export const MAX_CHUNK_BYTES = 256 * 1024;

export interface ExportRequest {
  datasetId: string;
  format: ExportFormat;
  /** Empty: every source. */
  sources: LabelSource[];
  /** Labels below it are left out; labels without a confidence are kept. */
  minConfidence?: number;
}

export interface ExportDeps {
  datasets: { get(id: string): Promise<Dataset> };
  items: {
    exportPage(
      datasetId: string,
      filter: { sources: LabelSource[]; minConfidence?: number },
      pageSize: number,
      after?: { split: Split; label: string; fileName: string; id: string },
    ): Promise<Item[]>;
  };
  images: { get(datasetId: string, sha256: string): Promise<Buffer> };
  /** Counts exported items (metrics). */
  counted?: (format: ExportFormat, items: number) => void;
}

/** Checks the request (and that the dataset exists) before the first byte goes out. */
export async function exportDataset(deps: ExportDeps, request: ExportRequest): Promise<AsyncGenerator<Buffer>> {
  const { minConfidence } = request;
  if (minConfidence !== undefined && !(minConfidence >= 0 && minConfidence <= 1)) {
    throw new InvalidArgumentError(`min_confidence must be between 0 and 1, got ${minConfidence}`);
  }
  const dataset = await deps.datasets.get(request.datasetId);
  return exportChunks(deps, dataset, request);
}

async function* exportChunks(deps: ExportDeps, dataset: Dataset, request: ExportRequest): AsyncGenerator<Buffer> {
  let count = 0;
  const rows = (async function* () {
    for await (const row of exportRows(deps, dataset.id, request)) {
      count += 1;
      yield row;
    }
  })();
  try {
    if (request.format === 'zip') {
      const output = new PassThrough();
      const writing = writeZipExport({ rows, fetchImage: (row) => deps.images.get(dataset.id, row.sha256), output });
      // A failure (or the consumer leaving early) also ends `output`; the real error is rethrown below.
      writing.catch(() => undefined);
      yield* rechunk(output);
      await writing;
    } else {
      yield* rechunk(request.format === 'csv' ? csvManifest(rows) : jsonlManifest(rows));
    }
  } finally {
    deps.counted?.(request.format, count);
  }
}

async function* exportRows(deps: ExportDeps, datasetId: string, request: ExportRequest): AsyncGenerator<ExportRow> {
  const filter = { sources: request.sources, minConfidence: request.minConfidence };
  let after: { split: Split; label: string; fileName: string; id: string } | undefined;
  for (;;) {
    const page = await deps.items.exportPage(datasetId, filter, EXPORT_PAGE_SIZE, after);
    for (const item of page) yield toExportRow(item);
    if (page.length < EXPORT_PAGE_SIZE) return;
    const last = page[page.length - 1]!;
    after = { split: last.split!, label: last.label!.value, fileName: last.fileName, id: last.id };
  }
}

function toExportRow(item: Item): ExportRow {
  const label = item.label!;
  return {
    itemId: item.id,
    fileName: item.fileName,
    sha256: item.sha256,
    label: label.value,
    labelSource: label.source,
    modelVersion: label.modelVersion,
    confidence: label.confidence,
    split: item.split,
    labeledAt: label.labeledAt,
  };
}

/** Gathers a byte stream into chunks of exactly MAX_CHUNK_BYTES (the last one shorter). */
export async function* rechunk(stream: Readable): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const data of stream) {
    let chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
    while (size + chunk.length >= MAX_CHUNK_BYTES) {
      const take = MAX_CHUNK_BYTES - size;
      pending.push(chunk.subarray(0, take));
      yield Buffer.concat(pending);
      chunk = chunk.subarray(take);
      pending = [];
      size = 0;
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      size += chunk.length;
    }
  }
  if (size > 0) yield Buffer.concat(pending);
}
