import type { AnswerRefusal, ReviewAnswer, ReviewReason } from './types.js';

// Deciding what one review answer may do. Pure: the repository reads the task (locked) and the
// dataset's classes inside the answer's transaction and applies what these functions decide.

/** The open task of the answered item, as the answering transaction sees it. */
export interface TaskState {
  reason: ReviewReason;
  modelVersion: number;
  subjectLabel: string | null;
  leasedBy: string | null;
  /** lease_expires_at is still in the future (by the database's clock). */
  leaseLive: boolean;
}

export interface Refusal {
  code: AnswerRefusal;
  reason: string;
}

/** Only the reviewer holding a live lease may answer; anything else says why not. */
export function leaseRefusal(task: TaskState | undefined, actor: string): Refusal | undefined {
  if (!task) return { code: 'not_leased', reason: 'the item has no open review task' };
  if (task.leasedBy === null) return { code: 'not_leased', reason: 'the task is not leased; lease it first' };
  if (task.leasedBy !== actor) return { code: 'lease_lost', reason: 'the task is leased to another reviewer' };
  if (!task.leaseLive) return { code: 'lease_lost', reason: 'the lease expired; lease the task again' };
  return undefined;
}

/** The answer itself: an action, and for LABEL one of the dataset's classes. */
export function answerRefusal(answer: ReviewAnswer, classes: readonly string[]): Refusal | undefined {
  switch (answer.action) {
    case 'label':
      if (answer.label === '') return { code: 'invalid_answer', reason: 'a LABEL answer needs a label' };
      if (!classes.includes(answer.label)) {
        return { code: 'unknown_class', reason: `"${answer.label}" is not one of the dataset's classes` };
      }
      return undefined;
    case 'skip':
    case 'not_in_classes':
      return undefined;
    default:
      return { code: 'invalid_answer', reason: 'action is required (LABEL, SKIP or NOT_IN_CLASSES)' };
  }
}

export interface AuditOutcome {
  modelVersion: number;
  modelLabel: string;
  /** '' when the reviewer said the item is in none of the classes (the model was wrong). */
  humanLabel: string;
  correct: boolean;
}

/** An audit answered with a label or "not in classes" scores the model's label; a skip scores nothing. */
export function auditOutcome(task: TaskState, answer: ReviewAnswer): AuditOutcome | undefined {
  if (task.reason !== 'audit' || task.subjectLabel === null) return undefined;
  if (answer.action === 'label') {
    return {
      modelVersion: task.modelVersion,
      modelLabel: task.subjectLabel,
      humanLabel: answer.label,
      correct: answer.label === task.subjectLabel,
    };
  }
  if (answer.action === 'not_in_classes') {
    return { modelVersion: task.modelVersion, modelLabel: task.subjectLabel, humanLabel: '', correct: false };
  }
  return undefined;
}
