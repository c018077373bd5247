// Ordered graceful shutdown on SIGTERM/SIGINT: health NOT_SERVING → stop accepting →
// finish in-flight work → drain → close, each step logged, all within a timeout shorter
// than Kubernetes' terminationGracePeriodSeconds.
import type { Logger } from './logger.js';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

export interface InstallShutdownOptions {
  logger: Logger;
  /** Overall limit; when it passes first the process exits 1. */
  timeoutMs: number;
  /** Run in order; a failing step is logged and the next one still runs. */
  steps: ShutdownStep[];
  /** Default SIGTERM and SIGINT; [] installs no handlers (tests). */
  signals?: NodeJS.Signals[];
  /** Default process.exit. */
  exit?: (code: number) => void;
}

export interface ShutdownHandle {
  /** Starts the shutdown (once; later calls return the same promise). */
  shutdown(reason: string): Promise<void>;
}

export function installShutdown(options: InstallShutdownOptions): ShutdownHandle {
  const { logger, timeoutMs, steps, signals = ['SIGTERM', 'SIGINT'], exit = (code) => process.exit(code) } = options;
  let running: Promise<void> | undefined;

  async function runSteps(): Promise<void> {
    for (const step of steps) {
      const started = performance.now();
      try {
        await step.run();
        logger.info({ step: step.name, durationMs: Math.round(performance.now() - started) }, 'shutdown step done');
      } catch (err) {
        logger.error({ step: step.name, err }, 'shutdown step failed');
      }
    }
  }

  function shutdown(reason: string): Promise<void> {
    if (running) {
      logger.info({ reason }, 'shutdown already in progress');
      return running;
    }
    logger.info({ reason, timeoutMs }, 'shutting down');
    running = new Promise<void>((resolve) => {
      // Whichever of the timeout and the last step comes first decides the exit code.
      let finished = false;
      const finish = (code: number) => {
        if (finished) return;
        finished = true;
        exit(code);
        resolve();
      };
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown timed out');
        finish(1);
      }, timeoutMs);
      void runSteps().then(() => {
        clearTimeout(timer);
        if (!finished) logger.info('shutdown complete');
        finish(0);
      });
    });
    return running;
  }

  // process.on, not once: a second signal must not fall through to Node's default
  // (immediate exit) while steps are still running.
  for (const signal of signals) process.on(signal, () => void shutdown(signal));
  return { shutdown };
}
