// A dataset at a glance: counts by status, split and label source, the class distribution, and
// its active-learning settings and retrain policy.
import type { DatasetWithStatistics, RetrainPolicy } from '../api/types.js';
import { BarChart } from '../components/charts.js';
import { ErrorNotice, formatDate, formatPercent, Link, Loading, Notice, useLoad } from '../components/common.js';
import { datasetPath } from '../state/router.js';
import { api, can } from '../state/session.js';

export function loadDataset(id: string, signal?: AbortSignal): Promise<DatasetWithStatistics> {
  return api.get<DatasetWithStatistics>(`/v1/datasets/${encodeURIComponent(id)}`, signal);
}

function Counts({ title, counts, order }: { title: string; counts: Record<string, number>; order?: string[] }) {
  const keys = order ? order.filter((k) => k in counts).concat(Object.keys(counts).filter((k) => !order.includes(k))) : Object.keys(counts);
  return (
    <div class="card">
      <h3>{title}</h3>
      <dl class="counts">
        {keys.map((k) => (
          <div key={k} class="count">
            <dt>{k}</dt>
            <dd>{(counts[k] ?? 0).toLocaleString()}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

export function DatasetScreen({ id }: { id: string }) {
  const dataset = useLoad((signal) => loadDataset(id, signal), [id]);
  const policy = useLoad((signal) => api.get<RetrainPolicy>(`/v1/datasets/${encodeURIComponent(id)}/retrain-policy`, signal), [id]);
  const d = dataset.data;
  if (!d) {
    return (
      <section class="page">
        <ErrorNotice error={dataset.error} onRetry={dataset.reload} />
        {dataset.loading && <Loading what="Loading the dataset" />}
      </section>
    );
  }
  const s = d.statistics;
  const al = d.activeLearning;
  const unlabelled = s.byStatus['unlabelled'] ?? 0;
  return (
    <section class="page" data-testid="dataset-overview">
      <div class="page-head">
        <div>
          <h1>{d.name}</h1>
          <p class="muted">
            {d.classes.length} classes · images {d.image.width}×{d.image.height}×{d.image.channels} · created {formatDate(d.createdAt)}
          </p>
        </div>
        <div class="actions">
          <button type="button" class="button-quiet" onClick={dataset.reload}>
            Refresh
          </button>
          {can('labeller') && (
            <>
              <Link href={datasetPath(id, 'upload')} class="button">
                Upload
              </Link>
              <Link href={datasetPath(id, 'review')} class="button button-primary">
                Label {unlabelled > 0 ? `(${unlabelled.toLocaleString()} unlabelled)` : ''}
              </Link>
            </>
          )}
        </div>
      </div>
      <ErrorNotice error={dataset.error} onRetry={dataset.reload} />
      {s.totalItems === 0 && (
        <Notice>
          This dataset has no images yet.{' '}
          {can('labeller') ? <Link href={datasetPath(id, 'upload')}>Upload images or a ZIP archive</Link> : 'A labeller uploads them.'}
        </Notice>
      )}
      <div class="cards">
        <div class="card card-total">
          <h3>Images</h3>
          <p class="big" data-testid="total-items">
            {s.totalItems.toLocaleString()}
          </p>
        </div>
        <Counts title="By status" counts={s.byStatus} order={['unlabelled', 'labelled', 'excluded']} />
        <Counts title="By split" counts={s.bySplit} order={['train', 'validation', 'test', 'unassigned']} />
        <Counts title="By label source" counts={s.bySource} order={['human', 'import', 'model']} />
      </div>
      <div class="panel">
        <h2>Class distribution</h2>
        <p class="muted">Labelled images per class (any source).</p>
        <BarChart labels={d.classes} values={d.classes.map((c) => s.byClass[c] ?? 0)} label="Labelled images per class" height={240} />
      </div>
      <div class="two-columns">
        <div class="panel">
          <h2>Active learning</h2>
          <dl class="settings">
            <dt>Target error ε</dt>
            <dd>{formatPercent(al.targetError)}</dd>
            <dt>Confidence 1−δ</dt>
            <dd>{formatPercent(al.confidence)}</dd>
            <dt>Acquisition</dt>
            <dd>
              {al.strategy.replace('_', ' ')}
              {al.diversity !== 'none' ? ` + ${al.diversity.replace('_', '-')} diversity` : ''}
            </dd>
            <dt>Auto-labels</dt>
            <dd>{al.autoLabel ? `on, ${formatPercent(al.auditShare)} audited (at least ${al.auditMinimum})` : 'off'}</dd>
            <dt>Review lease</dt>
            <dd>{al.leaseSeconds} s</dd>
          </dl>
        </div>
        <div class="panel">
          <h2>Retraining</h2>
          {policy.data ? (
            <dl class="settings">
              <dt>Retrain</dt>
              <dd>{policy.data.everyHumanLabels > 0 ? `after every ${policy.data.everyHumanLabels} human labels` : 'by hand'}</dd>
              <dt>Replay of older labels</dt>
              <dd>{formatPercent(policy.data.replayRatio, 0)}</dd>
              <dt>Promotion tolerance</dt>
              <dd>{formatPercent(policy.data.promotionTolerance)} macro-F1</dd>
              <dt>Largest recall drop</dt>
              <dd>{formatPercent(policy.data.maxRecallDrop)}</dd>
            </dl>
          ) : policy.loading ? (
            <Loading what="Loading the policy" />
          ) : (
            <ErrorNotice error={policy.error} onRetry={policy.reload} />
          )}
          <p>
            <Link href={datasetPath(id, 'models')}>Models and training →</Link>
          </p>
        </div>
      </div>
    </section>
  );
}
