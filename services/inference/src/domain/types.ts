import type { AcquisitionStrategy } from '@labelloop/active-learning';
import type { ImageSpec } from '@labelloop/ml';

export type { AcquisitionStrategy } from '@labelloop/active-learning';

/** Which model to load: what a promotion or the trainer's registry says. */
export interface ModelRef {
  datasetId: string;
  /** Empty when unknown (a model loaded by artifact prefix alone). */
  modelId: string;
  version: number;
  /** S3 prefix of the artifact, e.g. models/<datasetId>/<version>/. */
  artifactPrefix: string;
}

/** A model loaded in the predict workers, with what a prediction's provenance names. */
export interface LoadedModel extends ModelRef {
  architecture: string;
  classes: string[];
  imageSpec: ImageSpec;
  temperature: number;
  /** The tfjs backend the workers predict with. */
  backend: string;
  /** The training run that produced it (from the artifact's sidecar); empty when unknown. */
  runId: string;
  /** When the artifact was written. */
  trainedAt?: Date;
  loadedAt: Date;
}

export type ScoringKind = 'pool' | 'calibration' | 'labelled';

export interface ShardItem {
  itemId: string;
  sha256: string;
  kind: ScoringKind;
}

/** A leased unit of pool scoring (see the dataset service's ClaimScoringShard). */
export interface ScoringShard {
  id: string;
  jobId: string;
  model: ModelRef;
  items: ShardItem[];
  strategy: AcquisitionStrategy;
  mcSamples: number;
  embeddings: boolean;
  leaseExpiresAt?: Date;
}

export interface ItemPrediction {
  itemId: string;
  /** Calibrated probabilities in class order. */
  probabilities: Float32Array;
  acquisitionScore: number;
  embedding?: Float32Array;
}
