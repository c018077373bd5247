// What the training job reads from the dataset service, over its gRPC API (the trainer never
// reads the dataset's tables). Proto types stay here: the job sees plain domain shapes.
import { createGrpcClient, FailedPreconditionError, type GrpcClient, type Registry } from '@labelloop/common';
import { commonV1, datasetV1 } from '@labelloop/proto';
import type { Channel } from 'nice-grpc';

export type SplitName = 'train' | 'validation' | 'test';
export type LabelSourceName = 'human' | 'model' | 'import';

export interface DatasetInfo {
  id: string;
  name: string;
  /** Ordered: a class's index is the model's output index. */
  classes: string[];
  image: { width: number; height: number; channels: 1 | 3 };
  splits: { train: number; validation: number; test: number };
}

/** A labelled item as the training job sees it. */
export interface LabelledItem {
  itemId: string;
  sha256: string;
  label: string;
  source: LabelSourceName;
  /** undefined when the item has no split yet (the dataset assigns one to every labelled item). */
  split: SplitName | undefined;
  labeledAt: Date;
}

export interface DatasetReader {
  getDataset(datasetId: string): Promise<DatasetInfo>;
  /** Every labelled item, in the dataset's stable order, paged lazily (memory stays flat). */
  labelledItems(datasetId: string): AsyncIterable<LabelledItem>;
  /** The stored image file's bytes. */
  imageBytes(itemId: string): Promise<Buffer>;
}

/** Items per ListItems page: the dataset service's maximum. */
export const LIST_PAGE_SIZE = 1000;

const SPLITS = new Map<commonV1.Split, SplitName>([
  [commonV1.Split.SPLIT_TRAIN, 'train'],
  [commonV1.Split.SPLIT_VALIDATION, 'validation'],
  [commonV1.Split.SPLIT_TEST, 'test'],
]);

const SOURCES = new Map<commonV1.LabelSource, LabelSourceName>([
  [commonV1.LabelSource.LABEL_SOURCE_HUMAN, 'human'],
  [commonV1.LabelSource.LABEL_SOURCE_MODEL, 'model'],
  [commonV1.LabelSource.LABEL_SOURCE_IMPORT, 'import'],
]);

export interface DatasetReaderOptions {
  registry?: Registry;
  /** Deadline of each unary call (a page, an image). Default 30 s. */
  deadlineMs?: number;
  /** Items per ListItems page (1..1000). Default LIST_PAGE_SIZE. */
  pageSize?: number;
}

export function createDatasetReader(channel: Channel, options: DatasetReaderOptions = {}): DatasetReader {
  const pageSize = options.pageSize ?? LIST_PAGE_SIZE;
  const client: GrpcClient<typeof datasetV1.DatasetServiceDefinition> = createGrpcClient(
    datasetV1.DatasetServiceDefinition,
    channel,
    { defaultDeadlineMs: options.deadlineMs ?? 30_000, ...(options.registry ? { registry: options.registry } : {}) },
  );

  return {
    async getDataset(datasetId) {
      const { dataset } = await client.getDataset({ datasetId });
      if (!dataset) throw new FailedPreconditionError(`dataset service returned no dataset for ${datasetId}`);
      const image = dataset.image;
      if (!image || (image.channels !== 1 && image.channels !== 3)) {
        throw new FailedPreconditionError(`dataset ${datasetId} has no usable image spec (${JSON.stringify(image)})`);
      }
      const splits = dataset.splits ?? { train: 0, validation: 0, test: 0 };
      return {
        id: dataset.id,
        name: dataset.name,
        classes: [...dataset.classes],
        image: { width: image.width, height: image.height, channels: image.channels },
        splits: { train: splits.train, validation: splits.validation, test: splits.test },
      };
    },

    async *labelledItems(datasetId) {
      let cursor = '';
      do {
        const page = await client.listItems({
          datasetId,
          status: datasetV1.ItemStatus.ITEM_STATUS_LABELLED,
          label: '',
          split: commonV1.Split.SPLIT_UNSPECIFIED,
          source: commonV1.LabelSource.LABEL_SOURCE_UNSPECIFIED,
          limit: pageSize,
          cursor,
        });
        for (const item of page.items) {
          const label = item.label;
          // A label removed between pages: the item is no longer labelled.
          if (!label || !label.value) continue;
          yield {
            itemId: item.id,
            sha256: item.sha256,
            label: label.value,
            source: SOURCES.get(label.source) ?? 'import',
            split: SPLITS.get(item.split),
            labeledAt: label.labeledAt ?? item.createdAt ?? new Date(0),
          };
        }
        cursor = page.nextCursor;
      } while (cursor);
    },

    async imageBytes(itemId) {
      const { content } = await client.getItemImage({ itemId });
      return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    },
  };
}
