import { best, isFinished, proposeTrials, recordFailure, recordResult, requeueTrial, type SearchState, type Trial, type TrialResult } from './search.js';

export interface RunSearchOptions {
  /** Trials running at once (default 1). */
  concurrency?: number;
  /** Called after each result or failure is recorded, e.g. to persist the state. */
  onProgress?: (state: SearchState) => void | Promise<void>;
}

/**
 * Runs a search to the end in this process, `concurrency` trials at a time. It assumes it is the only
 * runner of this state: trials left 'running' by an earlier, interrupted runner are handed out again.
 * A trial that throws is recorded as failed and the search goes on.
 */
export async function runSearch(
  state: SearchState,
  runTrial: (trial: Trial) => Promise<TrialResult>,
  options: RunSearchOptions = {},
): Promise<{ state: SearchState; best: ReturnType<typeof best> }> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be ≥ 1, got ${concurrency}`);
  for (const record of state.trials) if (record.status === 'running') requeueTrial(state, record.trial.trialId);

  const running = new Map<string, Promise<void>>();
  for (;;) {
    for (const trial of proposeTrials(state, concurrency - running.size)) {
      const done = runTrial(trial).then(
        (result) => void recordResult(state, trial.trialId, result),
        (error: unknown) => void recordFailure(state, trial.trialId, error instanceof Error ? error.message : String(error)),
      );
      running.set(
        trial.trialId,
        done.then(async () => {
          running.delete(trial.trialId);
          await options.onProgress?.(state);
        }),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (!isFinished(state)) throw new Error('search stopped with trials neither run nor finished');
  return { state, best: best(state) };
}
