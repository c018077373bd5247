// Datasets: the list, and (admin) a form to create one with its classes, image spec, splits,
// active-learning settings and retrain policy.
import { useState } from 'preact/hooks';
import { errorMessage } from '../api/client.js';
import type { Dataset, DatasetPage, RetrainPolicy } from '../api/types.js';
import { Empty, ErrorNotice, formatDate, Link, Loading, Notice, useLoad } from '../components/common.js';
import { datasetPath, navigate } from '../state/router.js';
import { api, can } from '../state/session.js';

async function listAllDatasets(signal: AbortSignal): Promise<Dataset[]> {
  const all: Dataset[] = [];
  let cursor: string | null = null;
  do {
    const page: DatasetPage = await api.get<DatasetPage>(`/v1/datasets?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, signal);
    all.push(...page.datasets);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

export function DatasetsScreen() {
  const datasets = useLoad(listAllDatasets, []);
  const [creating, setCreating] = useState(false);

  return (
    <section class="page">
      <div class="page-head">
        <h1>Datasets</h1>
        {can('admin') && !creating && (
          <button type="button" class="button-primary" onClick={() => setCreating(true)}>
            New dataset
          </button>
        )}
      </div>
      {creating && <CreateDatasetForm onCancel={() => setCreating(false)} />}
      <ErrorNotice error={datasets.error} onRetry={datasets.reload} />
      {datasets.loading && !datasets.data && <Loading what="Loading datasets" />}
      {datasets.data && datasets.data.length === 0 && (
        <Empty title="No datasets yet">
          <p class="muted">{can('admin') ? 'Create one to start uploading images.' : 'An admin creates datasets; ask one to add yours.'}</p>
        </Empty>
      )}
      {datasets.data && datasets.data.length > 0 && (
        <table class="table" data-testid="dataset-list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Classes</th>
              <th scope="col">Images</th>
              <th scope="col">Strategy</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {datasets.data.map((d) => (
              <tr key={d.id}>
                <td>
                  <Link href={datasetPath(d.id)}>{d.name}</Link>
                </td>
                <td title={d.classes.join(', ')}>
                  {d.classes.length} <span class="muted">({d.classes.slice(0, 5).join(', ')}{d.classes.length > 5 ? ', …' : ''})</span>
                </td>
                <td>
                  {d.image.width}×{d.image.height}×{d.image.channels}
                </td>
                <td>{d.activeLearning.strategy.replace('_', ' ')}</td>
                <td>{formatDate(d.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const strategies = ['margin', 'least_confidence', 'entropy', 'bald', 'random'] as const;

/** "cat, dog" or one per line → ['cat', 'dog']. */
export function parseClasses(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((c) => c.trim())
    .filter((c) => c !== '');
}

function CreateDatasetForm({ onCancel }: { onCancel: () => void }) {
  const [form, setForm] = useState({
    name: '',
    classes: '',
    width: 28,
    height: 28,
    channels: 1,
    train: 0.7,
    validation: 0.15,
    test: 0.15,
    targetError: 0.02,
    confidence: 0.95,
    strategy: 'margin' as (typeof strategies)[number],
    diversity: 'none' as 'none' | 'k_center',
    everyHumanLabels: 0,
  });
  const [error, setError] = useState<unknown>(null);
  const [warning, setWarning] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (field: keyof typeof form) => (event: Event) => {
    const target = event.target as HTMLInputElement | HTMLSelectElement;
    const value = target.type === 'number' ? Number(target.value) : target.value;
    setForm((f) => ({ ...f, [field]: value }));
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const classes = parseClasses(form.classes);
    if (!form.name.trim()) return setError(new Error('Give the dataset a name.'));
    if (classes.length === 0) return setError(new Error('List at least one class.'));
    if (new Set(classes).size !== classes.length) return setError(new Error('Each class may appear only once.'));
    const sum = form.train + form.validation + form.test;
    if (Math.abs(sum - 1) > 1e-6) return setError(new Error(`The split ratios must add up to 1 (they add up to ${sum.toFixed(2)}).`));
    setBusy(true);
    setError(null);
    try {
      const created = await api.post<Dataset>('/v1/datasets', {
        name: form.name.trim(),
        classes,
        image: { width: form.width, height: form.height, channels: form.channels },
        splits: { train: form.train, validation: form.validation, test: form.test },
        activeLearning: {
          targetError: form.targetError,
          confidence: form.confidence,
          strategy: form.strategy,
          diversity: form.diversity,
        },
      });
      if (form.everyHumanLabels > 0) {
        try {
          await api.put<RetrainPolicy>(`/v1/datasets/${encodeURIComponent(created.id)}/retrain-policy`, {
            everyHumanLabels: form.everyHumanLabels,
          });
        } catch (err) {
          setWarning(`The dataset was created, but its retrain policy was not set: ${errorMessage(err)}`);
          return;
        }
      }
      navigate(datasetPath(created.id));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel form" onSubmit={submit} aria-label="New dataset">
      <h2>New dataset</h2>
      <div class="form-grid">
        <label class="field field-wide">
          <span>Name</span>
          <input name="name" required value={form.name} onInput={set('name')} autoFocus />
        </label>
        <label class="field field-wide">
          <span>Classes</span>
          <textarea name="classes" rows={3} placeholder="cat, dog, bird — or one per line" value={form.classes} onInput={set('classes')} />
          <small class="muted">In this order: the first ten get the keys 1–9 and 0 when labelling.</small>
        </label>
        <fieldset class="fieldset">
          <legend>Image size</legend>
          <label class="field">
            <span>Width</span>
            <input name="width" type="number" min={1} max={8192} value={form.width} onInput={set('width')} />
          </label>
          <label class="field">
            <span>Height</span>
            <input name="height" type="number" min={1} max={8192} value={form.height} onInput={set('height')} />
          </label>
          <label class="field">
            <span>Channels</span>
            <select name="channels" value={form.channels} onChange={set('channels')}>
              <option value={1}>1 (grey)</option>
              <option value={3}>3 (colour)</option>
            </select>
          </label>
        </fieldset>
        <fieldset class="fieldset">
          <legend>Splits</legend>
          <label class="field">
            <span>Train</span>
            <input name="train" type="number" step="any" min={0} max={1} value={form.train} onInput={set('train')} />
          </label>
          <label class="field">
            <span>Validation</span>
            <input name="validation" type="number" step="any" min={0} max={1} value={form.validation} onInput={set('validation')} />
          </label>
          <label class="field">
            <span>Test</span>
            <input name="test" type="number" step="any" min={0} max={1} value={form.test} onInput={set('test')} />
          </label>
        </fieldset>
        <fieldset class="fieldset">
          <legend>Active learning</legend>
          <label class="field">
            <span>Target error ε</span>
            <input name="targetError" type="number" step="any" min={0.001} max={0.5} value={form.targetError} onInput={set('targetError')} />
          </label>
          <label class="field">
            <span>Confidence 1−δ</span>
            <input name="confidence" type="number" step="any" min={0.5} max={0.999} value={form.confidence} onInput={set('confidence')} />
          </label>
          <label class="field">
            <span>Acquisition</span>
            <select name="strategy" value={form.strategy} onChange={set('strategy')}>
              {strategies.map((s) => (
                <option key={s} value={s}>
                  {s.replace('_', ' ')}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span>Diversity</span>
            <select name="diversity" value={form.diversity} onChange={set('diversity')}>
              <option value="none">none</option>
              <option value="k_center">k-center</option>
            </select>
          </label>
        </fieldset>
        <fieldset class="fieldset">
          <legend>Retrain policy</legend>
          <label class="field">
            <span>Retrain after every … human labels (0 = by hand)</span>
            <input name="everyHumanLabels" type="number" min={0} value={form.everyHumanLabels} onInput={set('everyHumanLabels')} />
          </label>
        </fieldset>
      </div>
      <ErrorNotice error={error} />
      {warning && <Notice kind="warning">{warning}</Notice>}
      <div class="form-actions">
        <button type="submit" class="button-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create dataset'}
        </button>
        <button type="button" class="button-quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
