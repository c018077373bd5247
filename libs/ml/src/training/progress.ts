// What the training loop reports, per batch and per epoch. Epochs and batches count from 1.

export interface EpochStats {
  epoch: number;
  /** Mean training loss / accuracy over the epoch's batches (as the model was at each step). */
  loss: number;
  accuracy: number;
  /** Validation loss (unweighted mean cross-entropy) and accuracy after the epoch, when there is a validation set. */
  valLoss?: number;
  valAccuracy?: number;
  /** Training images per second during the epoch (steps only). */
  imagesPerSecond: number;
  seconds: number;
}

export interface BatchProgress {
  kind: 'batch';
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  /** Estimated seconds left for the whole run, at the pace so far (validation included). */
  etaSeconds: number;
}

export interface EpochProgress extends EpochStats {
  kind: 'epoch';
  epochs: number;
  etaSeconds: number;
}

export type TrainingProgress = BatchProgress | EpochProgress;
