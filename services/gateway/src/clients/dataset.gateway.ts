// A small typed wrapper over the dataset service's gRPC client: routes speak JSON shapes,
// this module speaks proto (mapping in dataset.mapping.ts). Errors pass through as
// GrpcCallError and become problem+json in problem.ts.
import { createGrpcClient, type GrpcClient, type Registry } from '@labelloop/common';
import { commonV1, datasetV1 } from '@labelloop/proto';
import type { Channel } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import type { ReviewAnswerResultsJson, ReviewTaskJson, ScoringJobJson } from '../openapi/active-learning-schemas.js';
import type {
  ActiveLearningSettingsJson,
  DatasetJson,
  DatasetWithStatisticsJson,
  ExportFormatName,
  ImportJson,
  ItemJson,
  ItemStatusName,
  LabelEventJson,
  LabelSourceName,
  SplitName,
  UploadResultJson,
} from '../openapi/schemas.js';
import {
  datasetToJson,
  exportFormatEnum,
  fileErrorToJson,
  importToJson,
  itemStatusEnum,
  itemToJson,
  labelEventToJson,
  labelSourceEnum,
  settingsToProto,
  splitEnum,
  statisticsToJson,
} from './dataset.mapping.js';
import { REVIEW_ACTION, reviewTaskToJson, scoringJobToJson } from './active-learning.mapping.js';

/** The name the dataset server registers with grpc.health.v1. */
export const DATASET_SERVICE_NAME = 'labelloop.dataset.v1.DatasetService';

export interface CreateDatasetInput {
  name: string;
  classes: string[];
  image?: { width: number; height: number; channels: number } | undefined;
  splits?: { train: number; validation: number; test: number } | undefined;
  activeLearning?: Partial<ActiveLearningSettingsJson> | undefined;
}

export interface ReviewAnswerInput {
  itemId: string;
  action: keyof typeof REVIEW_ACTION;
  label?: string | undefined;
}

export interface ListItemsInput {
  datasetId: string;
  status?: ItemStatusName | undefined;
  label?: string | undefined;
  split?: SplitName | undefined;
  source?: LabelSourceName | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface ImportInput {
  datasetId: string;
  fileName: string;
  addMissingClasses: boolean;
  actor: string;
  /** The archive's bytes; pulled one chunk at a time, so the caller's stream sees backpressure. */
  chunks: AsyncIterable<Buffer>;
}

export interface ExportInput {
  datasetId: string;
  format: ExportFormatName;
  sources: LabelSourceName[];
  minConfidence?: number | undefined;
}

export interface UploadFile {
  fileName: string;
  content: Buffer;
  label: string | undefined;
}

export interface ItemImage {
  content: Buffer;
  contentType: string;
  sha256: string;
}

export class DatasetGateway {
  private readonly client: GrpcClient<datasetV1.DatasetServiceDefinition>;
  private readonly health: GrpcClient<typeof HealthDefinition>;

  constructor(channel: Channel, options: { defaultDeadlineMs?: number; registry?: Registry } = {}) {
    this.client = createGrpcClient(datasetV1.DatasetServiceDefinition, channel, options);
    this.health = createGrpcClient(HealthDefinition, channel, options);
  }

  async createDataset(input: CreateDatasetInput): Promise<DatasetJson> {
    const { activeLearning, ...rest } = input;
    const { dataset } = await this.client.createDataset({
      ...rest,
      activeLearning: activeLearning && settingsToProto(activeLearning),
    });
    return datasetToJson(required(dataset));
  }

  async getDataset(datasetId: string): Promise<DatasetWithStatisticsJson> {
    const { dataset, statistics } = await this.client.getDataset({ datasetId });
    return { ...datasetToJson(required(dataset)), statistics: statisticsToJson(statistics) };
  }

  /** Live datasets, or the deleted ones still restorable; only `ids` when given (scoped keys). */
  async listDatasets(
    limit: number | undefined,
    cursor: string | undefined,
    filter: { deleted?: boolean; ids?: readonly string[] | null } = {},
  ) {
    const page = await this.client.listDatasets({
      limit: limit ?? 0,
      cursor: cursor ?? '',
      deleted: filter.deleted ?? false,
      datasetIds: filter.ids ? [...filter.ids] : [],
    });
    return { datasets: page.datasets.map(datasetToJson), nextCursor: page.nextCursor || null };
  }

  /** The dataset without statistics: a cheap check that it exists and is not deleted (404 otherwise). */
  async requireDataset(datasetId: string): Promise<DatasetJson> {
    const { dataset } = await this.client.getDataset({ datasetId, skipStatistics: true });
    return datasetToJson(required(dataset));
  }

  async deleteDataset(datasetId: string, actor: string): Promise<DatasetJson> {
    const { dataset } = await this.client.deleteDataset({ datasetId, actor });
    return datasetToJson(required(dataset));
  }

  async restoreDataset(datasetId: string, actor: string): Promise<DatasetJson> {
    const { dataset } = await this.client.restoreDataset({ datasetId, actor });
    return datasetToJson(required(dataset));
  }

  /**
   * Streams files to UploadItems as `files` yields them (pulled one at a time, so the caller's
   * stream sees backpressure); one result per file, in order, without fileName.
   */
  async uploadItems(
    datasetId: string,
    files: AsyncIterable<UploadFile>,
    actor: string,
  ): Promise<Array<Omit<UploadResultJson, 'fileName'>>> {
    async function* messages(): AsyncIterable<datasetV1.UploadItemsRequest> {
      for await (const { fileName, content, label } of files) {
        yield { datasetId, fileName, content, label: label ?? '', actor };
      }
    }
    const { results } = await this.client.uploadItems(messages());
    return results.map(uploadResultToJson);
  }

  async startImport(input: ImportInput): Promise<ImportJson> {
    const { chunks, ...header } = input;
    async function* messages(): AsyncIterable<datasetV1.StartImportRequest> {
      yield { header };
      for await (const chunk of chunks) yield { chunk };
    }
    const res = await this.client.startImport(messages());
    return importToJson(required(res.import));
  }

  async getImport(importId: string): Promise<ImportJson> {
    const res = await this.client.getImport({ importId });
    return importToJson(required(res.import));
  }

  async listItems(input: ListItemsInput): Promise<{ items: ItemJson[]; nextCursor: string | null }> {
    const res = await this.client.listItems({
      datasetId: input.datasetId,
      status: input.status ? itemStatusEnum.proto(input.status) : datasetV1.ItemStatus.ITEM_STATUS_UNSPECIFIED,
      label: input.label ?? '',
      split: input.split ? splitEnum.proto(input.split) : commonV1.Split.SPLIT_UNSPECIFIED,
      source: input.source ? labelSourceEnum.proto(input.source) : commonV1.LabelSource.LABEL_SOURCE_UNSPECIFIED,
      limit: input.limit ?? 0,
      cursor: input.cursor ?? '',
    });
    return { items: res.items.map(itemToJson), nextCursor: res.nextCursor || null };
  }

  async getItem(itemId: string): Promise<ItemJson> {
    const res = await this.client.getItem({ itemId });
    return itemToJson(required(res.item));
  }

  async getItemImage(itemId: string): Promise<ItemImage> {
    const { content, contentType, sha256 } = await this.client.getItemImage({ itemId });
    return { content, contentType, sha256 };
  }

  /** A human label (source human); expectedVersion makes it conditional (ABORTED when stale). */
  async setHumanLabel(itemId: string, label: string, actor: string, expectedVersion?: number): Promise<ItemJson> {
    const res = await this.client.setLabel({
      itemId,
      label,
      actor,
      source: commonV1.LabelSource.LABEL_SOURCE_HUMAN,
      expectedVersion,
    });
    return itemToJson(required(res.item));
  }

  async listLabelHistory(itemId: string): Promise<LabelEventJson[]> {
    const res = await this.client.listLabelHistory({ itemId });
    return res.events.map(labelEventToJson);
  }

  /** The export file's bytes; aborting `signal` cancels the server stream. */
  async *exportDataset(input: ExportInput, signal: AbortSignal): AsyncIterable<Buffer> {
    const stream = this.client.exportDataset(
      {
        datasetId: input.datasetId,
        format: exportFormatEnum.proto(input.format),
        sources: input.sources.map((source) => labelSourceEnum.proto(source)),
        minConfidence: input.minConfidence,
      },
      { signal },
    );
    for await (const { chunk } of stream) if (chunk.length > 0) yield chunk;
  }

  async updateActiveLearningSettings(datasetId: string, settings: Partial<ActiveLearningSettingsJson>): Promise<DatasetJson> {
    const { dataset } = await this.client.updateActiveLearningSettings({ datasetId, settings: settingsToProto(settings) });
    return datasetToJson(required(dataset));
  }

  async listScoringJobs(datasetId: string, limit: number): Promise<ScoringJobJson[]> {
    return (await this.client.listScoringJobs({ datasetId, limit })).jobs.map(scoringJobToJson);
  }

  async leaseReviewItems(datasetId: string, actor: string, limit: number): Promise<{ tasks: ReviewTaskJson[]; remaining: number }> {
    const res = await this.client.leaseReviewItems({ datasetId, actor, limit });
    return { tasks: res.tasks.map(reviewTaskToJson), remaining: res.remaining };
  }

  async answerReviewItems(datasetId: string, actor: string, answers: ReviewAnswerInput[]): Promise<ReviewAnswerResultsJson> {
    const res = await this.client.answerReviewItems({
      datasetId,
      actor,
      answers: answers.map((a) => ({ itemId: a.itemId, action: REVIEW_ACTION[a.action], label: a.label ?? '' })),
    });
    const results = res.results.map((r) => ({
      itemId: r.itemId,
      accepted: r.accepted,
      code: r.code || null,
      reason: r.reason || null,
      item: r.item ? itemToJson(r.item) : null,
    }));
    const accepted = results.filter((r) => r.accepted).length;
    return { results, accepted, refused: results.length - accepted };
  }

  /** The dataset service's half of the report (the route joins the trainer's model metrics). */
  async activeLearningReport(datasetId: string): Promise<datasetV1.GetActiveLearningReportResponse> {
    return this.client.getActiveLearningReport({ datasetId });
  }

  /** grpc.health.v1 of the dataset service: true only when it answers SERVING. */
  async isServing(timeoutMs: number): Promise<boolean> {
    const res = await this.health.check({ service: DATASET_SERVICE_NAME }, { timeoutMs });
    return res.status === 1; // HealthCheckResponse_ServingStatus.SERVING
  }
}

function uploadResultToJson(res: datasetV1.UploadItemResponse): Omit<UploadResultJson, 'fileName'> {
  switch (res.outcome) {
    case datasetV1.UploadOutcome.UPLOAD_OUTCOME_CREATED:
      return { outcome: 'created', item: itemToJson(required(res.item)) };
    case datasetV1.UploadOutcome.UPLOAD_OUTCOME_DUPLICATE:
      return { outcome: 'duplicate', item: itemToJson(required(res.item)) };
    case datasetV1.UploadOutcome.UPLOAD_OUTCOME_REJECTED: {
      const { code, reason } = fileErrorToJson(required(res.error));
      return { outcome: 'rejected', error: { code, reason } };
    }
    default:
      throw new Error(`dataset service answered an upload with outcome ${res.outcome}`);
  }
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('dataset service response lacks a required message');
  return value;
}
