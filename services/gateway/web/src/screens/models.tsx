// Models: the registry with metrics per version (champion marked), the auto-label coverage and
// audited error per version, a learning curve, the selected model's confusion matrix and
// per-class recall; training runs started here and followed live over server-sent events;
// promote and roll back (admin).
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api/client.js';
import type {
  ActiveLearningReport,
  DatasetWithStatistics,
  HyperParameters,
  Model,
  ModelVersionReport,
  ProgressEvent,
  TrainingRun,
} from '../api/types.js';
import { BarChart, ConfusionHeatmap, LineChart } from '../components/charts.js';
import { Empty, ErrorNotice, formatDate, formatPercent, Loading, Notice, ProgressBar, useLoad } from '../components/common.js';
import { api, can } from '../state/session.js';
import { loadDataset } from './dataset.js';

const enc = encodeURIComponent;

export function ModelsScreen({ id }: { id: string }) {
  const dataset = useLoad((signal) => loadDataset(id, signal), [id]);
  const models = useLoad((signal) => api.get<{ models: Model[] }>(`/v1/datasets/${enc(id)}/models`, signal).then((r) => r.models), [id]);
  // The report joins the active-learning figures; without it the registry still shows.
  const report = useLoad((signal) => api.get<ActiveLearningReport>(`/v1/datasets/${enc(id)}/report`, signal), [id]);
  const runs = useLoad(
    (signal) => api.get<{ runs: TrainingRun[] }>(`/v1/datasets/${enc(id)}/training-runs?limit=10`, signal).then((r) => r.runs),
    [id],
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [actionNote, setActionNote] = useState<string | null>(null);
  const reloadAll = () => {
    models.reload();
    report.reload();
    runs.reload();
  };

  const list = models.data ?? [];
  const champion = list.find((m) => m.status === 'champion');
  const shown = list.find((m) => m.id === selected) ?? champion ?? list[0];
  const reportByVersion = new Map((report.data?.versions ?? []).map((v) => [v.modelVersion, v]));

  const promote = async (model: Model) => {
    setActionError(null);
    try {
      await api.post<Model>(`/v1/models/${enc(model.id)}/promote`);
      setActionNote(`Version ${model.version} is now the champion.`);
      reloadAll();
    } catch (err) {
      setActionError(err);
    }
  };
  const rollback = async () => {
    setActionError(null);
    try {
      const back = await api.post<Model>(`/v1/datasets/${enc(id)}/models/rollback`);
      setActionNote(`Rolled back: version ${back.version} is the champion again.`);
      reloadAll();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <section class="page">
      <div class="page-head">
        <div>
          <h1>Models{dataset.data ? ` · ${dataset.data.name}` : ''}</h1>
          <p class="muted">Test metrics are measured on the dataset’s frozen test split.</p>
        </div>
        <div class="actions">
          <button type="button" class="button-quiet" onClick={reloadAll}>
            Refresh
          </button>
          {can('admin') && champion && list.length > 1 && (
            <button type="button" class="button" onClick={() => void rollback()}>
              Roll back champion
            </button>
          )}
        </div>
      </div>
      {dataset.data && can('labeller') && <TrainingPanel dataset={dataset.data} runs={runs.data ?? []} onFinished={reloadAll} />}
      <ErrorNotice error={actionError} />
      {actionNote && <Notice kind="success">{actionNote}</Notice>}
      <ErrorNotice error={models.error} onRetry={models.reload} />
      {models.loading && !models.data && <Loading what="Loading the registry" />}
      {models.data && list.length === 0 && (
        <Empty title="No models yet">
          <p class="muted">Label some images, then start a training run above.</p>
        </Empty>
      )}
      {list.length > 0 && (
        <>
          <div class="panel">
            <h2>Registry</h2>
            {report.error !== null && report.error !== undefined && (
              <p class="muted" role="status">
                Active-learning figures unavailable: {errorMessage(report.error)}
              </p>
            )}
            <div class="table-scroll">
              <table class="table" data-testid="model-registry">
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Status</th>
                    <th scope="col">Test accuracy</th>
                    <th scope="col">Macro-F1</th>
                    <th scope="col">Human labels</th>
                    <th scope="col">Auto-label coverage</th>
                    <th scope="col">Audited error</th>
                    <th scope="col">Trained</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((m) => {
                    const r = reportByVersion.get(m.version);
                    const isShown = shown?.id === m.id;
                    return (
                      <tr key={m.id} class={isShown ? 'row-selected' : ''} data-testid="model-row" data-version={m.version}>
                        <td>
                          <button type="button" class="link-button" onClick={() => setSelected(m.id)} aria-pressed={isShown}>
                            v{m.version}
                          </button>
                        </td>
                        <td>
                          <span class={`status status-${m.status}`}>{m.status === 'champion' ? '★ champion' : m.status}</span>
                        </td>
                        <td>{formatPercent(m.metrics['test']?.accuracy)}</td>
                        <td>{formatPercent(m.metrics['test']?.macroF1)}</td>
                        <td>{m.snapshot.humanLabels.toLocaleString()}</td>
                        <td>{r ? `${formatPercent(r.autoLabelCoverage)} (${r.autoLabelled.toLocaleString()})` : '—'}</td>
                        <td>{auditText(r)}</td>
                        <td>{formatDate(m.createdAt)}</td>
                        <td>
                          {can('admin') && m.status !== 'champion' && (
                            <button type="button" class="button-small" onClick={() => void promote(m)}>
                              Promote
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {report.data && (
              <p class="muted">
                Review queue: {report.data.queue.uncertain} uncertain, {report.data.queue.audit} audits, {report.data.queue.suspectedLabelError} second
                looks ({report.data.queue.leased} leased). Estimated human labels saved: {report.data.estimatedLabelsSaved.toLocaleString()}.
              </p>
            )}
          </div>
          <LearningCurve models={list} />
          {shown && dataset.data && <ModelDetail model={shown} dataset={dataset.data} />}
        </>
      )}
    </section>
  );
}

function auditText(r: ModelVersionReport | undefined): string {
  if (!r?.audit || r.audit.audited === 0) return '—';
  const a = r.audit;
  return `${formatPercent(a.error)} [${formatPercent(a.lowerBound)}–${formatPercent(a.upperBound)}] · ${a.audited} audited · ${a.verdict}`;
}

function LearningCurve({ models }: { models: Model[] }) {
  const points = [...models].sort((a, b) => a.snapshot.humanLabels - b.snapshot.humanLabels || a.version - b.version);
  return (
    <div class="panel">
      <h2>Learning curve</h2>
      <p class="muted">Test accuracy and macro-F1 of each version against the human labels it was trained with.</p>
      <LineChart
        labels={points.map((m) => m.snapshot.humanLabels)}
        series={[
          { label: 'test accuracy', values: points.map((m) => m.metrics['test']?.accuracy ?? null) },
          { label: 'macro-F1', values: points.map((m) => m.metrics['test']?.macroF1 ?? null) },
        ]}
        label="Learning curve: test accuracy against human labels"
        xTitle="human labels"
        yTitle="score"
        yMax={1}
        height={220}
      />
    </div>
  );
}

function ModelDetail({ model, dataset }: { model: Model; dataset: DatasetWithStatistics }) {
  const test = model.metrics['test'];
  const classes = model.classes.length > 0 ? model.classes : dataset.classes;
  return (
    <div class="panel" data-testid="model-detail">
      <h2>
        Version {model.version} <span class={`status status-${model.status}`}>{model.status}</span>
      </h2>
      <p class="muted">
        {model.architecture} · {model.backend} · temperature {model.temperature.toFixed(2)} · trained on {model.snapshot.newItems.toLocaleString()} new +{' '}
        {model.snapshot.replayedItems.toLocaleString()} replayed items · {model.promotionDecision}
      </p>
      {!test ? (
        <p>This model has no test metrics.</p>
      ) : (
        <div class="two-columns">
          <div>
            <h3>Confusion matrix (test, {test.items.toLocaleString()} images)</h3>
            <ConfusionHeatmap classes={classes} matrix={test.confusionMatrix} />
            <p class="muted">
              Calibration error (ECE) {formatPercent(test.eceBeforeCalibration)} → {formatPercent(test.eceAfterCalibration)} after temperature scaling.
            </p>
          </div>
          <div>
            <h3>Recall per class</h3>
            <BarChart labels={test.perClass.map((c) => c.className)} values={test.perClass.map((c) => c.recall)} label="Recall per class" height={260} />
            <table class="table table-compact">
              <thead>
                <tr>
                  <th scope="col">Class</th>
                  <th scope="col">Precision</th>
                  <th scope="col">Recall</th>
                  <th scope="col">F1</th>
                  <th scope="col">Support</th>
                </tr>
              </thead>
              <tbody>
                {test.perClass.map((c) => (
                  <tr key={c.className}>
                    <td>{c.className}</td>
                    <td>{formatPercent(c.precision)}</td>
                    <td>{formatPercent(c.recall)}</td>
                    <td>{formatPercent(c.f1)}</td>
                    <td>{c.support}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {model.hyperParameters && (
        <p class="muted">
          Hyper-parameters: {model.hyperParameters.optimizer}, learning rate {model.hyperParameters.learningRate}, {model.hyperParameters.epochs} epochs, batch{' '}
          {model.hyperParameters.batchSize}.
        </p>
      )}
    </div>
  );
}

interface EpochPoint {
  epoch: number;
  loss: number;
  accuracy: number;
}

const finalStatuses = new Set(['succeeded', 'failed', 'cancelled']);

function TrainingPanel({ dataset, runs, onFinished }: { dataset: DatasetWithStatistics; runs: TrainingRun[]; onFinished: () => void }) {
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
