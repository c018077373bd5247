// The JSON shapes of the REST API, taken from the gateway's own zod schemas (type-only: nothing of
// the server is bundled), so the app cannot drift from the API it calls.
export type {
  DatasetJson as Dataset,
  DatasetWithStatisticsJson as DatasetWithStatistics,
  ItemJson as Item,
  ImportJson as Import,
  UploadResultJson as UploadResult,
  Role,
  ExportFormatName as ExportFormat,
  LabelSourceName as LabelSource,
  ActiveLearningSettingsJson as ActiveLearningSettings,
} from '../../../src/openapi/schemas.js';
export type {
  ModelJson as Model,
  TrainingRunJson as TrainingRun,
  ProgressEventJson as ProgressEvent,
  HyperParametersJson as HyperParameters,
  RetrainPolicyJson as RetrainPolicy,
  SplitMetricsJson as SplitMetrics,
} from '../../../src/openapi/training-schemas.js';
export type {
  ReviewTaskJson as ReviewTask,
  ReviewAnswerResultsJson as ReviewAnswerResults,
  ActiveLearningReportJson as ActiveLearningReport,
  ModelVersionReportJson as ModelVersionReport,
  ScoringJobJson as ScoringJob,
} from '../../../src/openapi/active-learning-schemas.js';

import type { ItemJson, DatasetJson } from '../../../src/openapi/schemas.js';
import type { ReviewTaskJson } from '../../../src/openapi/active-learning-schemas.js';

export interface ItemPage {
  items: ItemJson[];
  nextCursor: string | null;
}
export interface DatasetPage {
  datasets: DatasetJson[];
  nextCursor: string | null;
}
export interface ReviewTaskList {
  tasks: ReviewTaskJson[];
  remaining: number;
}
export interface Me {
  name: string;
  role: 'admin' | 'labeller' | 'viewer';
}
export interface UploadResponse {
  results: Array<{
    fileName: string;
    outcome: 'created' | 'duplicate' | 'rejected';
    error?: { code: string; reason: string };
  }>;
  created: number;
  duplicates: number;
  rejected: number;
}

/** RFC 9457 problem details, as every error of the gateway is. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail: string;
  errors?: Array<{ fileName?: string; path?: string; code: string; reason: string }>;
  requestId?: string;
}
