import { EventEmitter } from 'node:events';

/** In-process change notices per run, so WatchTrainingRun answers without waiting for its poll. */
export class RunWatchers {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  changed(runId: string): void {
    this.emitter.emit(runId);
  }

  /** Resolves on the next change of the run, after `timeoutMs` (changes made by other replicas), or on abort. */
  next(runId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.emitter.off(runId, done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.emitter.once(runId, done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
