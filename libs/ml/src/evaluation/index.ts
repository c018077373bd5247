export { softmaxWithTemperature, negativeLogLikelihood } from './softmax.js';
export {
  evaluate,
  calibration,
  expectedCalibrationError,
  ECE_BINS,
  type EvaluationReport,
  type ClassMetrics,
  type CalibrationBin,
} from './evaluate.js';
export { fitTemperature, calibrationReport, type CalibrationReport, MIN_TEMPERATURE, MAX_TEMPERATURE } from './temperature.js';
