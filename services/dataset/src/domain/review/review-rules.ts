import { InvalidArgumentError } from '@labelloop/common';
import type { Item } from '../types.js';
import type { ReviewAnswer, Suggestion } from './types.js';

// What a lease or an answer batch may be, and how a task is shown to its reviewer.

export const DEFAULT_LEASE_LIMIT = 10;
export const MAX_LEASE_LIMIT = 100;
export const MAX_ANSWERS = 100;
/** Suggestions shown with an uncertain or suspected task. */
export const SUGGESTIONS = 3;
const MAX_ACTOR_LENGTH = 200;

/** 0 (unset) → the default; above MAX_LEASE_LIMIT is refused, not clamped. */
export function parseLeaseLimit(limit: number): number {
  if (limit === 0) return DEFAULT_LEASE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LEASE_LIMIT) {
    throw new InvalidArgumentError(`limit must be 1..${MAX_LEASE_LIMIT}, got ${limit}`);
  }
  return limit;
}

/** A lease belongs to a named reviewer: the answers must come from the same name. */
export function validateActor(actor: string): string {
  if (actor.trim() === '') throw new InvalidArgumentError('actor is required (who reviews)');
  if ([...actor].length > MAX_ACTOR_LENGTH) {
    throw new InvalidArgumentError(`actor must be at most ${MAX_ACTOR_LENGTH} characters`);
  }
  return actor;
}

/** The batch as a whole; each answer is checked on its own when it is applied. */
export function validateAnswerBatch(answers: readonly ReviewAnswer[]): void {
  if (answers.length === 0) throw new InvalidArgumentError('answers must not be empty');
  if (answers.length > MAX_ANSWERS) {
    throw new InvalidArgumentError(`at most ${MAX_ANSWERS} answers per call, got ${answers.length}`);
  }
}

/** The k most probable classes of a prediction (`probabilities` in class order), best first. */
export function topSuggestions(
  classes: readonly string[],
  probabilities: readonly number[],
  k = SUGGESTIONS,
): Suggestion[] {
  return probabilities
    .slice(0, classes.length)
    .map((confidence, index) => ({ label: classes[index]!, confidence }))
    .sort((a, b) => b.confidence - a.confidence || classes.indexOf(a.label) - classes.indexOf(b.label))
    .slice(0, k);
}

/** An audit is blind: the reviewer sees the image, not the model's label (nor who gave it). */
export function blindItem(item: Item): Item {
  return { ...item, label: null };
}
