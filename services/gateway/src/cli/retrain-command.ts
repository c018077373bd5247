// The scheduled retrain path (a Kubernetes CronJob runs it): start a training run through the
// gateway's REST API, follow its server-sent events printing one line per epoch, and answer
// with an exit code: 0 when the run succeeded, 1 when it failed, was cancelled, timed out or
// the API refused, 2 for bad usage.
import { parseArgs } from 'node:util';
import { readSse } from './sse-reader.js';

export const USAGE = `usage: labelloop-retrain --dataset <id> [--url http://127.0.0.1:8080] [--wait | --no-wait] [--timeout 3600]

Starts a training run of the dataset through the labelloop gateway (as trigger "schedule") and
follows it until it ends. The API key comes from LABELLOOP_API_KEY (a labeller or admin key).
  --dataset   the dataset id (required)
  --url       the gateway's base URL (default $LABELLOOP_URL or http://127.0.0.1:8080)
  --wait      follow the run until it ends (default); --no-wait returns once it is queued
  --timeout   seconds to wait for the run to end (default 3600); the run keeps going after it
Exit status: 0 succeeded (or queued, with --no-wait); 1 failed, cancelled, timed out or refused; 2 bad usage.`;

export interface RetrainIo {
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Options {
  dataset: string;
  url: string;
  wait: boolean;
  timeoutMs: number;
  key: string;
}

class UsageError extends Error {}
class RetrainError extends Error {}

function parseOptions(argv: string[], env: RetrainIo['env']): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        dataset: { type: 'string' },
        url: { type: 'string' },
        wait: { type: 'boolean', default: true },
        timeout: { type: 'string', default: '3600' },
        help: { type: 'boolean', short: 'h' },
      },
      allowNegative: true,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) throw new UsageError('');
  if (!values.dataset?.trim()) throw new UsageError('--dataset <id> is required');
  const timeout = Number(values.timeout);
  if (!/^\d+$/.test(values.timeout) || timeout < 1) throw new UsageError('--timeout must be a whole number of seconds ≥ 1');
  const url = (values.url ?? env.LABELLOOP_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be an http(s) URL, not ${url}`);
  const key = env.LABELLOOP_API_KEY?.trim();
  if (!key) throw new UsageError('set LABELLOOP_API_KEY to a labeller or admin API key');
  return { dataset: values.dataset.trim(), url, wait: values.wait, timeoutMs: timeout * 1000, key };
}

/** What a problem+json (or any) error response says, in one line. */
async function describeError(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const problem = JSON.parse(text) as { detail?: string };
    if (problem.detail) return `${response.status} ${problem.detail}`;
  } catch {
    // not JSON: the raw text will do
  }
  return `${response.status} ${text.slice(0, 200).trim() || response.statusText}`;
}

interface RunJson {
  id: string;
  status: string;
  failureReason: string | null;
  modelId: string | null;
}

interface ProgressJson {
  status: string;
  phase: string;
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  etaSeconds: number;
  trialsDone: number;
  trialsTotal: number;
}

export function progressLine(runId: string, p: ProgressJson): string {
  const trials = p.trialsTotal > 0 ? ` trial ${p.trialsDone}/${p.trialsTotal}` : '';
  return (
    `run ${runId} ${p.phase || p.status}${trials} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} ` +
    `accuracy ${p.accuracy.toFixed(4)} ${Math.round(p.imagesPerSecond)} images/s eta ${Math.round(p.etaSeconds)}s`
  );
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const RECONNECT_MS = 2000;

/** Follows the run's events until it ends; reconnects (until the deadline) when the stream drops. */
async function follow(options: Options, runId: string, io: RetrainIo, signal: AbortSignal): Promise<RunJson> {
  const headers = { authorization: `Bearer ${options.key}` };
  let printed = '';
  let status = '';
  for (;;) {
    const response = await fetch(`${options.url}/v1/training-runs/${encodeURIComponent(runId)}/events`, {
      headers: { ...headers, accept: 'text/event-stream' },
      signal,
    });
    if (!response.ok || !response.body) {
      const reason = await describeError(response);
      if (response.status < 500) throw new RetrainError(`following run ${runId} failed: ${reason}`);
      io.err(`retrain: following run ${runId}: ${reason}; retrying`);
    } else {
      for await (const { event, data } of readSse(response.body)) {
        if (event === 'end') return JSON.parse(data) as RunJson;
        if (event === 'error') {
          io.err(`retrain: the event stream of run ${runId} broke: ${(JSON.parse(data) as { detail: string }).detail}`);
          break;
        }
        if (event !== 'progress') continue;
        const progress = JSON.parse(data) as ProgressJson;
        if (progress.status !== status) {
          status = progress.status;
          io.out(`run ${runId} ${status}`);
        }
        // One line per epoch (events arrive per batch): print when the epoch (or trial) moves on.
        const key = `${progress.phase}:${progress.trialsDone}:${progress.epoch}`;
        if (progress.epoch > 0 && key !== printed) {
          printed = key;
          io.out(progressLine(runId, progress));
        }
      }
    }
    // The stream ended without an `end` event: ask for the run, then listen again.
    const run = await fetch(`${options.url}/v1/training-runs/${encodeURIComponent(runId)}`, { headers, signal });
    if (run.ok) {
      const body = (await run.json()) as RunJson;
      if (FINAL.has(body.status)) return body;
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    signal.throwIfAborted();
  }
}

/** Runs the command; resolves with the process exit status. */
export async function runRetrain(argv: string[], io: RetrainIo): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv, io.env);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) io.err(`retrain: ${err.message}`);
      io.err(USAGE);
      return 2;
    }
    throw err;
  }

  const timeout = AbortSignal.timeout(options.timeoutMs);
  let runId: string | undefined;
  try {
    const started = await fetch(`${options.url}/v1/datasets/${encodeURIComponent(options.dataset)}/training-runs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${options.key}`,
        'content-type': 'application/json',
        'x-labelloop-trigger': 'schedule',
      },
      body: '{}',
      signal: timeout,
    });
    if (started.status !== 202) throw new RetrainError(`starting a run failed: ${await describeError(started)}`);
    const run = (await started.json()) as RunJson;
    runId = run.id;
    io.out(`run ${run.id} ${run.status} (dataset ${options.dataset})`);
    if (!options.wait) return 0;

    const final = await follow(options, run.id, io, timeout);
    if (final.status === 'succeeded') {
      io.out(`run ${final.id} succeeded${final.modelId ? `: model ${final.modelId}` : ''}`);
      return 0;
    }
    io.err(`retrain: run ${final.id} ${final.status}${final.failureReason ? `: ${final.failureReason}` : ''}`);
    return 1;
  } catch (err) {
    if (timeout.aborted) {
      const which = runId ? `run ${runId} did not end` : 'the gateway did not answer';
      io.err(`retrain: ${which} within ${options.timeoutMs / 1000} s${runId ? ' (it keeps running)' : ''}`);
    } else if (err instanceof RetrainError) {
      io.err(`retrain: ${err.message}`);
    } else {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      io.err(`retrain: cannot reach the gateway at ${options.url}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`);
    }
    return 1;
  }
}
