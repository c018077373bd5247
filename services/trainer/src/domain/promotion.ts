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
  const championRecall = new Map(champion.metrics.test.perClass.map((c) => [c.className, c.recall]));
  for (const c of candidate.test.perClass) {
    const before = championRecall.get(c.className);
    if (before === undefined) continue; // a class the champion did not know cannot regress
    if (before - c.recall > policy.maxRecallDrop) {
      return {
        promote: false,
        reason: `recall of class ${c.className} drops from ${fmt(before)} to ${fmt(c.recall)} (more than ${fmt(policy.maxRecallDrop)}) against champion v${champion.version}`,
      };
    }
  }
  return {
    promote: true,
    reason: `test macro-F1 ${fmt(f1)} ≥ champion v${champion.version}'s ${fmt(championF1)} − ${fmt(policy.promotionTolerance)}, no class recall drops more than ${fmt(policy.maxRecallDrop)}`,
  };
}

function fmt(x: number): string {
  return x.toFixed(4);
}
