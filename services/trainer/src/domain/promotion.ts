import type { ModelMetrics, RetrainPolicy } from './types.js';

export interface PromotionDecision {
  promote: boolean;
  /** Recorded on the model either way (Model.promotion_decision). */
  reason: string;
}

/**
 * The automatic promotion rule. Both models' metrics come from the dataset's test split, which
 * never loses items (a test item never moves), so the numbers are comparable as long as no test
 * items were added in between. Re-evaluating the champion on today's test split is out of scope:
 * the stored metrics are compared, which is exact when the test split is unchanged.
 */
export function decidePromotion(
  candidate: ModelMetrics,
  champion: { version: number; metrics: ModelMetrics } | undefined,
  policy: Pick<RetrainPolicy, 'promotionTolerance' | 'maxRecallDrop'>,
): PromotionDecision {
  const f1 = candidate.test.macroF1;
  if (!champion) return { promote: true, reason: `first model: test macro-F1 ${fmt(f1)}` };
  const championF1 = champion.metrics.test.macroF1;
  const floor = championF1 - policy.promotionTolerance;
  if (f1 < floor) {
    return {
      promote: false,
      reason: `test macro-F1 ${fmt(f1)} is below champion v${champion.version}'s ${fmt(championF1)} minus tolerance ${fmt(policy.promotionTolerance)}`,
    };
  }
  const championClasses = new Map(champion.metrics.test.perClass.map((c) => [c.className, c]));
  for (const c of candidate.test.perClass) {
    const previous = championClasses.get(c.className);
    if (previous === undefined) continue; // a class the champion did not know cannot regress
    const before = previous.recall;
    // A recall drop whose class F1 still improves is not a regression: a weak champion that
    // predicts one class for much of the data has a high recall there bought with poor precision
    // (common after the first few labels of active learning), and a better model gives some back.
    if (before - c.recall > policy.maxRecallDrop && c.f1 <= previous.f1) {
      return {
        promote: false,
        reason: `recall of class ${c.className} drops from ${fmt(before)} to ${fmt(c.recall)} (more than ${fmt(policy.maxRecallDrop)}) and its F1 does not improve (${fmt(previous.f1)} → ${fmt(c.f1)}) against champion v${champion.version}`,
      };
    }
  }
  return {
    promote: true,
    reason: `test macro-F1 ${fmt(f1)} ≥ champion v${champion.version}'s ${fmt(championF1)} − ${fmt(policy.promotionTolerance)}, no class loses more than ${fmt(policy.maxRecallDrop)} recall without gaining F1`,
  };
}

function fmt(x: number): string {
  return x.toFixed(4);
}
