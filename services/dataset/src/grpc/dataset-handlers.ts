import { InvalidArgumentError, type Logger } from '@labelloop/common';
import { datasetV1 } from '@labelloop/proto';
import type { DatasetRepository } from '../adapters/dataset-repository.js';
import type { S3ImageObjects } from '../adapters/image-objects.js';
import { contentTypeOf } from '../adapters/image-objects.js';
import type { ItemRepository } from '../adapters/item-repository.js';
import { validateActiveLearning } from '../domain/active-learning-settings.js';
import { validateNewDataset } from '../domain/dataset-rules.js';
import { exportDataset, type ExportDeps, type ExportFormat } from '../domain/export-dataset.js';
import type { ImportService } from '../domain/import-service.js';
import { ingestItem, type IngestDeps } from '../domain/ingest-item.js';
import { decodeCursor, pageOf, parseLimit } from '../domain/paging.js';
import type { ReviewService } from '../domain/review/review-service.js';
import type { ScoringService } from '../domain/scoring/scoring-service.js';
import type { LabelRequest } from '../domain/types.js';
import {
  activeLearningFromProto,
  datasetToProto,
  importToProto,
  itemToProto,
  labelEventToProto,
  statisticsToProto,
} from './convert.js';
import { sourceFromProto, splitFromProto, statusFromProto } from './enums.js';
import { createReviewHandlers } from './review-handlers.js';
import { createScoringHandlers } from './scoring-handlers.js';
import { uploadItems, uploadResultToProto } from './upload-items.js';

// labelloop.dataset.v1.DatasetService: proto ↔ domain mapping only. Handlers throw
// DomainErrors; the server's middleware turns them into status codes.

export interface DatasetHandlerDeps {
  datasets: DatasetRepository;
  items: ItemRepository;
  images: S3ImageObjects;
  ingest: IngestDeps;
  imports: ImportService;
  exports: ExportDeps;
  review: ReviewService;
  scoring: ScoringService;
  /** How long a deleted dataset stays restorable. */
  retentionMs: number;
  logger: Logger;
}

const EXPORT_FORMATS: Partial<Record<datasetV1.ExportFormat, ExportFormat>> = {
  [datasetV1.ExportFormat.EXPORT_FORMAT_ZIP]: 'zip',
  [datasetV1.ExportFormat.EXPORT_FORMAT_CSV]: 'csv',
  [datasetV1.ExportFormat.EXPORT_FORMAT_JSONL]: 'jsonl',
};

export function createDatasetHandlers(deps: DatasetHandlerDeps): datasetV1.DatasetServiceImplementation {
  const { datasets, items, imports } = deps;
  return {
    ...createReviewHandlers(deps),
    ...createScoringHandlers(deps.scoring),

    async createDataset(request) {
      const input = validateNewDataset({
        name: request.name,
        classes: request.classes,
        image: request.image,
        splits: request.splits,
        activeLearning: activeLearningFromProto(request.activeLearning),
      });
      return { dataset: datasetToProto(await datasets.create(input)) };
    },

    async updateActiveLearningSettings(request) {
      const dataset = await datasets.get(request.datasetId);
      const settings = validateActiveLearning(
        activeLearningFromProto(request.settings),
        dataset.activeLearning.errorScale,
      );
      return { dataset: datasetToProto(await datasets.updateActiveLearning(dataset.id, settings)) };
    },

    async getDataset(request) {
      const dataset = await datasets.get(request.datasetId);
      if (request.skipStatistics) return { dataset: datasetToProto(dataset) };
      return { dataset: datasetToProto(dataset), statistics: statisticsToProto(await datasets.statistics(dataset)) };
    },

    async listDatasets(request) {
      const limit = parseLimit(request.limit);
      const rows = await datasets.list(limit + 1, decodeCursor(request.cursor), {
        deleted: request.deleted,
        ids: request.datasetIds.length > 0 ? request.datasetIds : undefined,
      });
      const { page, nextCursor } = pageOf(rows, limit);
      return { datasets: page.map((dataset) => datasetToProto(dataset, deps.retentionMs)), nextCursor };
    },

    async deleteDataset(request) {
      const dataset = await datasets.softDelete(request.datasetId, request.actor);
      deps.logger.info(
        { datasetId: dataset.id, datasetName: dataset.name, actor: request.actor, retentionMs: deps.retentionMs },
        'dataset deleted (restorable until the retention ends)',
      );
      return { dataset: datasetToProto(dataset, deps.retentionMs) };
    },

    async restoreDataset(request) {
      const dataset = await datasets.restore(request.datasetId, deps.retentionMs);
      deps.logger.info({ datasetId: dataset.id, datasetName: dataset.name, actor: request.actor }, 'dataset restored');
      return { dataset: datasetToProto(dataset) };
    },

    async uploadItem(request) {
      const dataset = await datasets.get(request.datasetId);
      const label: LabelRequest | undefined = request.label
        ? { value: request.label, source: 'human', actor: request.actor, confidence: null, modelVersion: '' }
        : undefined;
      const result = await ingestItem(deps.ingest, {
        dataset,
        fileName: request.fileName,
        bytes: request.content,
        label,
      });
      return uploadResultToProto(result);
    },

    uploadItems(requests) {
      return uploadItems({ datasets, ingest: deps.ingest }, requests);
    },

    async startImport(requests) {
      const messages = requests[Symbol.asyncIterator]();
      const first = await messages.next();
      const header = first.done ? undefined : first.value.header;
      if (!header) throw new InvalidArgumentError('the first StartImport message must be the header');
      async function* chunks() {
        for (;;) {
          const next = await messages.next();
          if (next.done) return;
          if (next.value.header) throw new InvalidArgumentError('only the first StartImport message may be a header');
          if (next.value.chunk) yield next.value.chunk;
        }
      }
      const record = await imports.start(
        {
          datasetId: header.datasetId,
          fileName: header.fileName || 'archive.zip',
          addMissingClasses: header.addMissingClasses,
          actor: header.actor,
        },
        chunks(),
      );
      return { import: importToProto(record) };
    },

    async getImport(request) {
      return { import: importToProto(await imports.get(request.importId)) };
    },

    async listItems(request) {
      const limit = parseLimit(request.limit);
      const after = decodeCursor(request.cursor);
      const filter = {
        status: statusFromProto(request.status),
        label: request.label || undefined,
        split: splitFromProto(request.split),
        source: sourceFromProto(request.source),
      };
      const dataset = await datasets.get(request.datasetId);
      if (filter.label !== undefined && !dataset.classes.includes(filter.label)) {
        throw new InvalidArgumentError(`label filter "${filter.label}" is not a class of this dataset`, { field: 'label' });
      }
      const rows = await items.list(dataset.id, filter, limit + 1, after);
      const { page, nextCursor } = pageOf(rows, limit);
      return { items: page.map(itemToProto), nextCursor };
    },

    async getItem(request) {
      return { item: itemToProto(await items.get(request.itemId)) };
    },

    async getItemImage(request) {
      const item = await items.get(request.itemId);
      const content = await deps.images.get(item.datasetId, item.sha256);
      return { content, contentType: contentTypeOf(item.format), sha256: item.sha256 };
    },

    async setLabel(request) {
      const source = sourceFromProto(request.source);
      if (!source) throw new InvalidArgumentError('source is required (human, model or import)');
      const { item } = await items.setLabel(request.itemId, {
        value: request.label,
        source,
        // A model label's actor is its model version unless the caller says otherwise.
        actor: request.actor || (source === 'model' ? request.modelVersion : ''),
        confidence: request.confidence ?? null,
        modelVersion: request.modelVersion,
        expectedVersion: request.expectedVersion,
      });
      return { item: itemToProto(item) };
    },

    async listLabelHistory(request) {
      return { events: (await items.history(request.itemId)).map(labelEventToProto) };
    },

    async *exportDataset(request) {
      const format = EXPORT_FORMATS[request.format];
      if (!format) throw new InvalidArgumentError('format is required (ZIP, CSV or JSONL)');
      const sources = request.sources.map((source) => {
        const mapped = sourceFromProto(source);
        if (!mapped) throw new InvalidArgumentError('sources must not contain LABEL_SOURCE_UNSPECIFIED');
        return mapped;
      });
      const chunks = await exportDataset(deps.exports, {
        datasetId: request.datasetId,
        format,
        sources,
        minConfidence: request.minConfidence,
      });
      for await (const chunk of chunks) yield { chunk };
    },
  };
}
