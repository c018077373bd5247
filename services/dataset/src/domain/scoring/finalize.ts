import { createRng } from '@labelloop/common';
import {
  acceptingThreshold,
  chooseAutoLabelThresholds,
  sampleAudit,
  selectBatch,
  suspectLabelErrors,
  type CalibrationPrediction,
} from '@labelloop/active-learning';
import type { ActiveLearningSettings, LabelSource, Split } from '../types.js';
import { scoringKindOf, type AutoLabelDecision, type ScoringKind } from './types.js';

// Finalizing a scoring job, as plain functions over what the job's predictions and the items'
// current state say (the adapter reads them, applies the plan in chunks and writes the queue):
//   a. thresholds from the calibration predictions (Clopper–Pearson, ε × error scale, 1 − δ);
//   b. pool items whose prediction is accepted get this model's label; older model labels the
//      model does not accept are removed; human and import labels are never touched;
//   c. a seeded audit sample of this model's auto-labels;
//   d. suspected label errors among human and import labels;
//   e. the uncertain queue by acquisition score (k-center diversity on the top candidates),
//      with audits and suspects interleaved (about every 5th task served).
// Everything is a function of the predictions, the item states and the job id, so finalizing the
// same job again plans the same labels and tasks.

/** One of the job's predictions joined with its item as it is now. */
export interface ScoredItem {
  itemId: string;
  seq: number;
  predicted: string;
  confidence: number;
  /** Needed for human- and import-labelled items only (may be null for the rest). */
  probabilities: number[] | null;
  acquisitionScore: number;
  label: string | null;
  labelSource: LabelSource | null;
  labelModelVersion: string | null;
  split: Split | null;
  excluded: boolean;
  labeledAt: Date | null;
}

/** The model label a pool item should carry after finalization; null: no model label. */
export interface ModelLabelTarget {
  value: string;
  confidence: number;
}

export interface FinalizeJob {
  id: string;
  modelVersion: number;
  createdAt: Date;
}

/** Tasks served between two audit / suspected-label-error tasks, roughly. */
export const SPECIAL_TASK_EVERY = 5;
/** The batch k-center diversity spreads, and how many top-scored candidates it chooses from. */
export const DIVERSITY_BATCH = 100;
export const DIVERSITY_CANDIDATES_FACTOR = 10;

export interface FinalizationPlan {
  decision: AutoLabelDecision;
  /** The ε used (target × error scale). */
  effectiveTargetError: number;
  /** Every pool item of the job with the model label it should end up with (null: none). */
  modelLabels: Array<{ itemId: string; target: ModelLabelTarget | null }>;
  /** Audit tasks in serving order, subject = the model label. */
  audits: Array<{ itemId: string; subjectLabel: string }>;
  /** Suspected label errors, most suspicious first, subject = the label under suspicion. */
  suspects: Array<{ itemId: string; subjectLabel: string }>;
  /** Pool items not auto-labelled, best (highest acquisition score) first. */
  uncertain: string[];
  /** With k-center diversity: the candidates whose embeddings diversify() needs. */
  diversityCandidates: string[];
}

export function planFinalization(input: {
  job: FinalizeJob;
  classes: readonly string[];
  settings: ActiveLearningSettings;
  items: readonly ScoredItem[];
}): FinalizationPlan {
  const { job, classes, settings } = input;
  const classIndex = new Map(classes.map((name, i) => [name, i]));
  const kinds = new Map<string, ScoringKind | undefined>();
  for (const item of input.items) {
    kinds.set(
      item.itemId,
      scoringKindOf({ labelSource: item.labelSource, split: item.split, excluded: item.excluded }),
    );
  }
  const ofKind = (kind: ScoringKind) => input.items.filter((item) => kinds.get(item.itemId) === kind);

  // a. Thresholds.
  const effectiveTargetError = settings.targetError * settings.errorScale;
  const calibration: CalibrationPrediction[] = ofKind('calibration').flatMap((item) => {
    const predicted = classIndex.get(item.predicted);
    const label = classIndex.get(item.label!);
    return predicted === undefined || label === undefined ? [] : [{ predicted, confidence: item.confidence, label }];
  });
  const chosen = chooseAutoLabelThresholds(calibration, {
    targetError: effectiveTargetError,
    confidence: settings.confidence,
    classCount: classes.length,
  });

  // b. Model labels of the pool.
  const pool = ofKind('pool');
  const modelLabels = pool.map((item) => {
    const predicted = classIndex.get(item.predicted);
    const accepted =
      settings.autoLabel && predicted !== undefined && acceptingThreshold(chosen, predicted, item.confidence);
    const target: ModelLabelTarget | null = accepted ? { value: item.predicted, confidence: item.confidence } : null;
    return { item, target };
  });
  const ours = modelLabels.filter(
    ({ item, target }) => target !== null && modelLabelAction(currentOf(item), target, job.modelVersion) !== 'skip',
  );

  // c. Audit sample, seeded by the job so every finalization of it draws the same items.
  const auditSample = sampleAudit(
    ours.map(({ item, target }) => ({ itemId: item.itemId, subjectLabel: target!.value })),
    settings.auditShare,
    settings.auditMinimum,
    createRng(seedOf(job.id)).next,
  );

  // d. Suspected label errors: labels set before the job began (a person has looked at the rest since).
  const trusted = [...ofKind('calibration'), ...ofKind('labelled')].filter(
    (item) =>
      classIndex.has(item.label!) && (item.labeledAt === null || item.labeledAt.getTime() <= job.createdAt.getTime()),
  );
  const suspects =
    classes.length < 2
      ? []
      : suspectLabelErrors(
          trusted.map((item) => ({ label: classIndex.get(item.label!)!, probabilities: padded(item, classes.length) })),
          { classCount: classes.length },
        ).map((index) => ({ itemId: trusted[index]!.itemId, subjectLabel: trusted[index]!.label! }));

  // e. The uncertain queue.
  const uncertain = modelLabels
    .filter(
      ({ item, target }) => target === null && modelLabelAction(currentOf(item), null, job.modelVersion) !== 'skip',
    )
    .map(({ item }) => item)
    .sort((a, b) => b.acquisitionScore - a.acquisitionScore || a.seq - b.seq)
    .map((item) => item.itemId);
  const diversityCandidates =
    settings.diversity === 'k_center' ? uncertain.slice(0, DIVERSITY_BATCH * DIVERSITY_CANDIDATES_FACTOR) : [];

  const autoLabelled = ours.length;
  const thresholds = chosen.thresholds.map((t) => ({
    className: t.classIndex === null ? '' : classes[t.classIndex]!,
    threshold: t.threshold,
    accepted: t.accepted,
    errors: t.errors,
    errorUpperBound: t.upperBound,
  }));
  const decision: AutoLabelDecision = {
    modelVersion: job.modelVersion,
    scope: chosen.scope ?? '',
    thresholds,
    calibrationItems: chosen.calibrationItems,
    thresholdsTried: chosen.thresholdsTried,
    targetError: effectiveTargetError,
    confidence: settings.confidence,
    autoLabelled,
    poolItems: pool.length,
    auditItems: auditSample.length,
    suspectedLabelErrors: suspects.length,
    reason: autoLabelled > 0 ? '' : noAutoLabelReason(settings, chosen.scope, chosen.reason),
  };
  return {
    decision,
    effectiveTargetError,
    modelLabels: modelLabels.map(({ item, target }) => ({ itemId: item.itemId, target })),
    audits: auditSample,
    suspects,
    uncertain,
    diversityCandidates,
  };
}

function noAutoLabelReason(settings: ActiveLearningSettings, scope: string | null, reason: string): string {
  if (!settings.autoLabel) return `auto-labelling is off for this dataset (${reason})`;
  if (scope === null) return reason;
  return `${reason}; no pool prediction reaches it`;
}

/**
 * The uncertain queue with its top reordered for diversity: the first DIVERSITY_BATCH tasks are
 * chosen by k-center greedy among the best-scored candidates that have embeddings, starting from
 * the labelled items' embeddings; the rest follow in score order.
 */
export function diversify(
  uncertain: readonly string[],
  candidates: readonly string[],
  embeddings: ReadonlyMap<string, number[]>,
  centers: readonly number[][],
  scores: ReadonlyMap<string, number>,
): string[] {
  const usable = candidates.filter((id) => embeddings.has(id));
  if (usable.length === 0) return [...uncertain];
  const dimension = embeddings.get(usable[0]!)!.length;
  const spread = usable.filter((id) => embeddings.get(id)!.length === dimension);
  const batch = selectBatch(
    spread.map((id) => scores.get(id) ?? 0),
    spread.map((id) => embeddings.get(id)!),
    Math.min(DIVERSITY_BATCH, spread.length),
    { candidatesFactor: DIVERSITY_CANDIDATES_FACTOR, centers: centers.filter((c) => c.length === dimension) },
  ).map((i) => spread[i]!);
  const first = new Set(batch);
  return [...batch, ...uncertain.filter((id) => !first.has(id))];
}

export interface QueueTask {
  itemId: string;
  reason: 'uncertain' | 'audit' | 'suspected_label_error';
  priority: number;
  subjectLabel: string | null;
}

/**
 * Priorities (lower first): uncertain rank r → r; the audits and suspects, interleaved, rank s →
 * 5·s + 2.5, so while they last about every 5th task served is one of them.
 */
export function queueTasks(
  plan: Pick<FinalizationPlan, 'audits' | 'suspects'>,
  uncertain: readonly string[],
): QueueTask[] {
  const special: QueueTask[] = [];
  const longest = Math.max(plan.audits.length, plan.suspects.length);
  for (let i = 0; i < longest; i++) {
    const audit = plan.audits[i];
    const suspect = plan.suspects[i];
    if (audit) special.push({ itemId: audit.itemId, reason: 'audit', priority: 0, subjectLabel: audit.subjectLabel });
    if (suspect) {
      special.push({
        itemId: suspect.itemId,
        reason: 'suspected_label_error',
        priority: 0,
        subjectLabel: suspect.subjectLabel,
      });
    }
  }
  // One task per item: an item both audited and suspected cannot happen (pool vs trusted), but be sure.
  const seen = new Set<string>();
  const tasks: QueueTask[] = [];
  for (const task of special) {
    if (seen.has(task.itemId)) continue;
    seen.add(task.itemId);
    tasks.push({ ...task, priority: SPECIAL_TASK_EVERY * tasks.length + SPECIAL_TASK_EVERY / 2 });
  }
  let rank = 0;
  for (const itemId of uncertain) {
    if (seen.has(itemId)) continue;
    seen.add(itemId);
    tasks.push({ itemId, reason: 'uncertain', priority: rank++, subjectLabel: null });
  }
  return tasks;
}

export interface CurrentModelLabelState {
  label: string | null;
  source: LabelSource | null;
  modelVersion: string | null;
  excluded: boolean;
}

/**
 * What finalizing version `version` does to one pool item, given its current state:
 * apply (set the model label), remove (withdraw an older model label), keep (already right),
 * skip (human/import label, excluded, or a newer model's label: not ours to change).
 */
export function modelLabelAction(
  current: CurrentModelLabelState,
  target: ModelLabelTarget | null,
  version: number,
): 'apply' | 'remove' | 'keep' | 'skip' {
  if (current.excluded) return 'skip';
  if (current.source === 'human' || current.source === 'import') return 'skip';
  const holdsModelLabel = current.source === 'model';
  if (holdsModelLabel && modelVersionNumber(current.modelVersion) > version) return 'skip';
  if (target === null) return holdsModelLabel ? 'remove' : 'keep';
  if (holdsModelLabel && current.label === target.value && current.modelVersion === String(version)) return 'keep';
  return 'apply';
}

/** '7' → 7; anything else (a model label set by hand with a free-form version) counts as older. */
export function modelVersionNumber(text: string | null): number {
  return text !== null && /^\d{1,9}$/.test(text) ? Number(text) : -1;
}

/** The actor of a model's labels and of their removal. */
export function modelActor(version: number): string {
  return `model:v${version}`;
}

function currentOf(item: ScoredItem): CurrentModelLabelState {
  return { label: item.label, source: item.labelSource, modelVersion: item.labelModelVersion, excluded: item.excluded };
}

/** Classes appended after the scoring have probability 0 in its predictions. */
function padded(item: ScoredItem, classCount: number): number[] {
  const p = item.probabilities ?? [];
  if (p.length >= classCount) return p;
  return [...p, ...new Array<number>(classCount - p.length).fill(0)];
}

/** A 32-bit seed from a uuid. */
export function seedOf(jobId: string): number {
  return Number.parseInt(jobId.replace(/-/g, '').slice(0, 8), 16) >>> 0;
}
