import { fileURLToPath } from 'node:url';
import { createGrpcServer, type GrpcServer, type Logger, type Registry } from '@labelloop/common';
import { datasetV1 } from '@labelloop/proto';
import type { BlobStore, Database } from '@labelloop/storage';
import { S3ArchiveStore } from './adapters/archive-files.js';
export { SCHEMA } from './adapters/rows.js';
import { DatasetRepository } from './adapters/dataset-repository.js';
import { S3ImageObjects } from './adapters/image-objects.js';
import { ImportRepository } from './adapters/import-repository.js';
import { ItemRepository } from './adapters/item-repository.js';
import { ReviewReportRepository } from './adapters/review-report-repository.js';
import { ReviewRepository } from './adapters/review-repository.js';
import { ScoringRepository } from './adapters/scoring-repository.js';
import type { DatasetConfig } from './config.js';
import { DatasetPurger } from './domain/dataset-purge.js';
import type { ExportDeps } from './domain/export-dataset.js';
import { ImportService } from './domain/import-service.js';
import type { IngestDeps } from './domain/ingest-item.js';
import { ReviewService } from './domain/review/review-service.js';
import { ScoringService } from './domain/scoring/scoring-service.js';
import { createDatasetHandlers } from './grpc/dataset-handlers.js';
import { createDatasetMetrics, registerReviewGauges, registerScoringGauges } from './metrics.js';

/** migrations/ beside src/ and dist/ alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface DatasetServerDeps {
  /** Migrated (runMigrations with MIGRATIONS_DIR and SCHEMA). */
  db: Database;
  blobs: BlobStore;
  logger: Logger;
  registry: Registry;
  limits: DatasetConfig['limits'];
  /** Called after a transaction that enqueued events commits (OutboxRelay.nudge). */
  onEventsCommitted?: () => void;
  /** Soft delete: restorable period and purge schedule (default 30 days, hourly). */
  deletion?: DatasetConfig['deletion'];
}

export interface DatasetServer {
  /** listen(), health, shutdown(). */
  grpc: GrpcServer;
  /** resumeUnfinished() after start, stop() on shutdown. */
  imports: ImportService;
  /** resumeUnfinished() after start (FINALIZING jobs), stop() on shutdown. */
  scoring: ScoringService;
  /** start() once serving, stop() on shutdown: removes datasets deleted longer ago than the retention. */
  purger: DatasetPurger;
}

/** Builds the gRPC server and everything behind it; nothing listens or runs until asked. */
export function createDatasetServer(deps: DatasetServerDeps): DatasetServer {
  const { db, blobs, logger, registry, limits } = deps;
  const deletion = deps.deletion ?? DEFAULT_DELETION;
  const metrics = createDatasetMetrics(registry);
  const hooks = {
    eventsCommitted: deps.onEventsCommitted ?? (() => {}),
    labelApplied: metrics.labelApplied,
  };
  const datasets = new DatasetRepository(db, hooks);
  const items = new ItemRepository(db, datasets, hooks);
  const images = new S3ImageObjects(blobs);
  const ingest: IngestDeps = {
    items,
    objects: images,
    limits: { maxBytes: limits.maxImageBytes, maxPixels: limits.maxImagePixels },
    logger,
    counted: metrics.itemIngested,
  };
  const imports = new ImportService({
    datasets,
    imports: new ImportRepository(db, datasets, hooks),
    archives: new S3ArchiveStore(blobs),
    ingest,
    maxArchiveBytes: limits.maxArchiveBytes,
    archiveLimits: {
      maxEntries: limits.maxArchiveEntries,
      maxTotalBytes: limits.maxArchiveExpandedBytes,
      maxEntryBytes: limits.maxImageBytes,
      maxCompressionRatio: limits.maxCompressionRatio,
    },
    logger,
    counted: metrics.importItem,
  });
  const exports: ExportDeps = { datasets, items, images, counted: metrics.exportItems };
  const scoringStore = new ScoringRepository(db, datasets, hooks);
  const scoring = new ScoringService({ store: scoringStore, datasets, logger });
  registerScoringGauges(registry, scoringStore, (err) => logger.warn({ err }, 'reading the scoring gauges failed'));
  const review = new ReviewService({
    store: new ReviewRepository(db, datasets, items),
    reports: new ReviewReportRepository(db),
    datasets,
    refinalizeLatest: (datasetId) => scoring.refinalizeLatest(datasetId),
    logger,
  });
  registerReviewGauges(registry, () => review.gaugeValues(), (err) =>
    logger.warn({ err }, 'reading the review gauges failed'),
  );

  // One UploadItem message carries a whole image.
  const grpc = createGrpcServer({ logger, registry, maxMessageBytes: limits.maxImageBytes + 1024 * 1024 });
  grpc.addService(
    datasetV1.DatasetServiceDefinition,
    createDatasetHandlers({
      datasets,
      items,
      images,
      ingest,
      imports,
      exports,
      review,
      scoring,
      retentionMs: deletion.retentionMs,
      logger,
    }),
  );
  const purger = new DatasetPurger({
    store: datasets,
    objects: blobs,
    retentionMs: deletion.retentionMs,
    intervalMs: deletion.purgeIntervalMs,
    logger,
  });
  return { grpc, imports, scoring, purger };
}

const DEFAULT_DELETION: DatasetConfig['deletion'] = { retentionMs: 30 * 86_400_000, purgeIntervalMs: 3_600_000 };
