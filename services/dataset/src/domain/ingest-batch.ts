import type { ImageInfo } from '../ingest/index.js';
import {
  checkIngestInput,
  duplicate,
  inspectOrReject,
  removeUnreferencedObject,
  type IngestDeps,
  type IngestResult,
} from './ingest-item.js';
import type { Dataset, Item, LabelRequest } from './types.js';

// The batch form of ingestItem (UploadItems): the same guarantees, paid for once per chunk
// instead of once per file. Every file is inspected before anything is stored; one query finds
// the duplicates; the new objects go to S3 in parallel; then ONE transaction inserts the rows
// with their labels and outbox events. A rejected file leaves neither a row nor an object.

export interface BatchFile {
  fileName: string;
  bytes: Buffer;
  label?: LabelRequest | undefined;
}

/** Results in the order of `files`. Throws (storing nothing) when a name or label is invalid. */
export async function ingestBatch(deps: IngestDeps, dataset: Dataset, files: readonly BatchFile[]): Promise<IngestResult[]> {
  const results = await ingestChunk(deps, dataset, files);
  for (const result of results) deps.counted?.(result.outcome);
  return results;
}

async function ingestChunk(deps: IngestDeps, dataset: Dataset, files: readonly BatchFile[]): Promise<IngestResult[]> {
  for (const file of files) checkIngestInput(dataset, file.fileName, file.label);

  // sharp decodes on libuv's thread pool, so the whole chunk is inspected in parallel.
  const inspected = await Promise.all(files.map((file) => inspectOrReject(deps.limits, file.fileName, file.bytes)));
  const results: Array<IngestResult | undefined> = inspected.map((r) =>
    'rejected' in r ? { outcome: 'rejected', error: r.rejected } : undefined,
  );
  const infos = inspected.map((r) => ('info' in r ? r.info : undefined));

  const shas = [...new Set(infos.flatMap((info) => (info ? [info.sha256] : [])))];
  const known = shas.length > 0 ? await deps.items.findManyBySha(dataset.id, shas) : new Map<string, Item>();

  // The first file with a new hash creates the item; later ones in the chunk are its duplicates.
  const fresh: Array<{ index: number; info: ImageInfo }> = [];
  const claimed = new Set<string>();
  infos.forEach((info, index) => {
    if (!info || known.has(info.sha256) || claimed.has(info.sha256)) return;
    claimed.add(info.sha256);
    fresh.push({ index, info });
  });

  await putObjects(deps, dataset.id, fresh.map(({ index, info }) => ({ info, bytes: files[index]!.bytes })));
  let inserted: Array<{ item: Item; created: boolean }>;
  try {
    inserted = await deps.items.insertMany(
      dataset,
      fresh.map(({ index, info }) => ({
        item: {
          sha256: info.sha256,
          fileName: files[index]!.fileName,
          width: info.width,
          height: info.height,
          format: info.format,
          sizeBytes: files[index]!.bytes.length,
          importId: null,
        },
        label: files[index]!.label,
      })),
    );
  } catch (err) {
    await Promise.all(fresh.map(({ info }) => removeUnreferencedObject(deps, dataset.id, info.sha256)));
    throw err;
  }
  fresh.forEach(({ index, info }, i) => {
    const { item, created } = inserted[i]!;
    known.set(info.sha256, item);
    // Someone stored the same bytes first (a concurrent upload): theirs is the item.
    if (created) results[index] = { outcome: 'created', item };
  });

  // Duplicates in file order, after the commit: an upload's label fills an empty one, first come first served.
  for (const [index, info] of infos.entries()) {
    if (!info || results[index]) continue;
    const result = await duplicate(deps, known.get(info.sha256)!, files[index]!.label);
    known.set(info.sha256, (result as { item: Item }).item);
    results[index] = result;
  }
  return results as IngestResult[];
}

/** All or nothing: when one put fails, the others' objects are removed (unless a row uses them). */
async function putObjects(
  deps: IngestDeps,
  datasetId: string,
  objects: ReadonlyArray<{ info: ImageInfo; bytes: Buffer }>,
): Promise<void> {
  const settled = await Promise.allSettled(
    objects.map(({ info, bytes }) => deps.objects.put(datasetId, info.sha256, bytes, info.format)),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (!failure) return;
  await Promise.all(
    objects.map(({ info }, i) =>
      settled[i]!.status === 'fulfilled' ? removeUnreferencedObject(deps, datasetId, info.sha256) : undefined,
    ),
  );
  throw failure.reason;
}
