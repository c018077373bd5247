import type { LabelSource } from '../domain/types.js';

/** What repositories report after a transaction commits (relay nudge, metrics). */
export interface RepositoryHooks {
  /** A transaction that enqueued events committed: publish now rather than at the next poll. */
  eventsCommitted(): void;
  /** A label change committed. */
  labelApplied(source: LabelSource): void;
}

export const noHooks: RepositoryHooks = { eventsCommitted() {}, labelApplied() {} };
