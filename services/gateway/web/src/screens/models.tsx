// Models: the registry with metrics per version (champion marked), the auto-label coverage and
// audited error per version, a learning curve, the selected model's confusion matrix and
// per-class recall; training runs started and followed live (training-panel.tsx);
// promote and roll back (admin).
import { useState } from 'preact/hooks';
import { errorMessage } from '../api/client.js';
import type {
  ActiveLearningReport,
  DatasetWithStatistics,
  Model,
  ModelVersionReport,
  TrainingRun,
} from '../api/types.js';
import { BarChart, ConfusionHeatmap, LineChart } from '../components/charts.js';
import { Empty, ErrorNotice, formatDate, formatPercent, Loading, Notice, useLoad } from '../components/common.js';
import { api, can } from '../state/session.js';
import { loadDataset } from './dataset.js';
import { TrainingPanel } from './training-panel.js';

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
