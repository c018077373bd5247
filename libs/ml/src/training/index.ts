export { trainModel, type TrainModelOptions, type TrainModelResult } from './train-model.js';
export type { EpochStats, BatchProgress, EpochProgress, TrainingProgress } from './progress.js';
export { validate } from './validate.js';
