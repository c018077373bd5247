// The training panel of the models screen: hyper-parameters, start and cancel a run, and the run
// followed live over server-sent events (progress bar, ETA, loss and accuracy per epoch).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DatasetWithStatistics, HyperParameters, ProgressEvent, TrainingRun } from '../api/types.js';
import { LineChart } from '../components/charts.js';
import { ErrorNotice, Notice, ProgressBar } from '../components/common.js';
import { api } from '../state/session.js';

const enc = encodeURIComponent;

interface EpochPoint {
  epoch: number;
  loss: number;
  accuracy: number;
}

const finalStatuses = new Set(['succeeded', 'failed', 'cancelled']);

export function TrainingPanel({ dataset, runs, onFinished }: { dataset: DatasetWithStatistics; runs: TrainingRun[]; onFinished: () => void }) {
  const [hp, setHp] = useState<HyperParameters>({ optimizer: 'adam', learningRate: 0.002, epochs: 3, momentum: 0.9, batchSize: 32 });
  const [runId, setRunId] = useState<string | null>(null);
  const [progress, setProgress] = useState<ProgressEvent | null>(null);
  const [epochs, setEpochs] = useState<EpochPoint[]>([]);
  const [events, setEvents] = useState(0);
  const [final, setFinal] = useState<TrainingRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const onFinishedRef = useRef(onFinished);
  onFinishedRef.current = onFinished;

  // A run already queued or running when the screen opens is followed too.
  useEffect(() => {
    if (runId) return;
    const active = runs.find((r) => !finalStatuses.has(r.status));
    if (active) setRunId(active.id);
  }, [runs, runId]);

  useEffect(() => {
    if (!runId) return;
    const aborter = new AbortController();
    setEpochs([]);
    setEvents(0);
    setFinal(null);
    const follow = async () => {
      // The stream starts with the run as it is, so a reconnect loses nothing.
      for (let attempt = 0; attempt < 20 && !aborter.signal.aborted; attempt++) {
        let ended = false;
        try {
          await api.events(
            `/v1/training-runs/${enc(runId)}/events`,
            (name, data) => {
              if (name === 'progress') {
                const p = data as ProgressEvent;
                setEvents((n) => n + 1);
                setProgress(p);
                if (p.phase === 'training' && p.epoch >= 1) {
                  setEpochs((points) => {
                    const rest = points.filter((q) => q.epoch !== p.epoch);
                    return [...rest, { epoch: p.epoch, loss: p.loss, accuracy: p.accuracy }].sort((a, b) => a.epoch - b.epoch);
                  });
                }
              } else if (name === 'end') {
                ended = true;
                setFinal(data as TrainingRun);
                onFinishedRef.current();
              } else if (name === 'error') {
                ended = true;
                setError(new Error((data as { detail?: string }).detail ?? 'The training stream failed.'));
              }
            },
            aborter.signal,
          );
        } catch (err) {
          if (aborter.signal.aborted) return;
          setError(err);
        }
        if (ended || aborter.signal.aborted) return;
        await new Promise((r) => setTimeout(r, 1000 * Math.min(attempt + 1, 5)));
      }
    };
    void follow();
    return () => aborter.abort();
  }, [runId]);

  const start = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const run = await api.post<TrainingRun>(`/v1/datasets/${enc(dataset.id)}/training-runs`, { hyperParameters: hp });
      setProgress(null);
      setRunId(run.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const cancel = async () => {
    if (!runId) return;
    try {
      await api.json<TrainingRun>('DELETE', `/v1/training-runs/${enc(runId)}`);
    } catch (err) {
      setError(err);
    }
  };
  const set = (field: keyof HyperParameters) => (e: Event) => {
    const target = e.target as HTMLInputElement | HTMLSelectElement;
    setHp((h) => ({ ...h, [field]: target.type === 'number' ? Number(target.value) : target.value }));
  };
  const running = runId !== null && final === null;
  const p = progress;
  const batchShare = p && p.batches > 0 ? p.batch / p.batches : 0;
  const overall = p && p.epochs > 0 ? Math.min(1, (Math.max(p.epoch - 1, 0) + batchShare) / p.epochs) : 0;
  const labelled = dataset.statistics.byStatus['labelled'] ?? 0;

  return (
    <div class="panel" data-testid="training-panel">
      <h2>Training</h2>
      <form class="train-form" onSubmit={start} aria-label="Start a training run">
        <label class="field">
          <span>Epochs</span>
          <input name="epochs" type="number" min={1} max={1000} value={hp.epochs} onInput={set('epochs')} />
        </label>
        <label class="field">
          <span>Batch size</span>
          <input name="batchSize" type="number" min={1} max={4096} value={hp.batchSize} onInput={set('batchSize')} />
        </label>
        <label class="field">
          <span>Learning rate</span>
          <input name="learningRate" type="number" step="any" min={0.0001} max={1} value={hp.learningRate} onInput={set('learningRate')} />
        </label>
        <label class="field">
          <span>Optimizer</span>
          <select name="optimizer" value={hp.optimizer} onChange={set('optimizer')}>
            {['adam', 'sgd', 'momentum', 'rmsprop'].map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="button-primary" disabled={busy || running || labelled === 0}>
          {running ? 'Training…' : 'Start training'}
        </button>
        {running && (
          <button type="button" class="button-quiet" onClick={() => void cancel()}>
            Cancel run
          </button>
        )}
      </form>
      {labelled === 0 && <p class="muted">There are no labelled images to train on yet.</p>}
      <ErrorNotice error={error} />
      {runId && (
        <div class="run" data-testid="training-run" data-run-id={runId}>
          <p>
            Run <code>{runId.slice(0, 8)}</code>: <strong data-testid="run-status">{final?.status ?? p?.status ?? 'queued'}</strong>
            {p && !final && (
              <>
                {' '}
                · {p.phase}
                {p.epochs > 0 && p.phase === 'training' ? ` · epoch ${p.epoch} of ${p.epochs}` : ''}
                {p.imagesPerSecond > 0 ? ` · ${p.imagesPerSecond.toFixed(0)} images/s` : ''}
                {p.etaSeconds > 0 ? ` · about ${Math.ceil(p.etaSeconds)} s left` : ''}
              </>
            )}{' '}
            <span class="muted" data-testid="event-count">
              ({events} progress event{events === 1 ? '' : 's'})
            </span>
          </p>
          {!final && <ProgressBar value={overall} label="Training" testId="training-progress" />}
          {final && final.status === 'succeeded' && (
            <Notice kind="success">The run succeeded{final.modelId ? ': its model is in the registry below' : ''}.</Notice>
          )}
          {final && final.status !== 'succeeded' && (
            <div class="notice notice-error" role="alert">
              The run {final.status}
              {final.failureReason ? `: ${final.failureReason}` : '.'}
            </div>
          )}
          {epochs.length > 0 && (
            <LineChart
              labels={epochs.map((e) => e.epoch)}
              series={[
                { label: 'loss', values: epochs.map((e) => e.loss) },
                { label: 'accuracy', values: epochs.map((e) => e.accuracy), axis: 'y1' },
              ]}
              label="Loss and accuracy per epoch"
              xTitle="epoch"
              yTitle="loss"
              y1Title="accuracy"
              height={200}
            />
          )}
        </div>
      )}
    </div>
  );
}
