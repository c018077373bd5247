// @labelloop/active-learning: the statistics of labelloop's loop — exact binomial bounds, auto-label
// thresholds with a guarantee, acquisition scores, batch diversity, label-error detection and audits.
// Plain functions over numbers: no tfjs, no I/O.
export { clopperPearsonUpper, clopperPearsonLower, clopperPearsonInterval } from './clopper-pearson.js';
export {
  chooseAutoLabelThresholds, acceptsPrediction, acceptingThreshold, DEFAULT_CANDIDATE_THRESHOLDS, DEFAULT_MIN_PER_CLASS,
  DEFAULT_TARGET_ERROR, DEFAULT_CONFIDENCE,
  type CalibrationPrediction, type AutoLabelOptions, type AutoLabelThreshold, type AutoLabelDecision,
} from './auto-label-thresholds.js';
export {
  acquisitionScore, entropy, isAcquisitionStrategy, ACQUISITION_STRATEGIES, type AcquisitionStrategy, type AcquisitionOptions,
} from './acquisition.js';
export { kCenterGreedy, selectBatch, topIndices, type Embedding, type KCenterOptions, type SelectBatchOptions } from './diversity.js';
export { suspectLabelErrors, perClassThresholds, type LabelledPrediction, type SuspectLabelOptions } from './label-errors.js';
export { sampleAudit, auditVerdict, DEFAULT_AUDIT_SHARE, type AuditVerdict, type AuditVerdictKind, type AuditOptions } from './audit.js';
export { percent } from './format.js';
