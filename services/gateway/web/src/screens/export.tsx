// Export: pick a format, the label sources and a minimum confidence for model labels; the file
// is fetched with the API key and handed to the browser as a download.
import { useState } from 'preact/hooks';
import type { ExportFormat, LabelSource } from '../api/types.js';
import { ErrorNotice, Loading, Notice, useLoad } from '../components/common.js';
import { api } from '../state/session.js';
import { loadDataset } from './dataset.js';

const formats: Array<{ value: ExportFormat; label: string; note: string }> = [
  { value: 'zip', label: 'ZIP', note: 'images in <split>/<class>/ folders plus manifest.csv and manifest.jsonl (imports back as is)' },
  { value: 'csv', label: 'CSV', note: 'one row per labelled image: file, class, split, source, confidence, …' },
  { value: 'jsonl', label: 'JSON lines', note: 'one JSON object per labelled image' },
];
const sources: Array<{ value: LabelSource; label: string }> = [
  { value: 'human', label: 'Human labels' },
  { value: 'import', label: 'Imported labels' },
  { value: 'model', label: 'Model labels (auto-labels)' },
];

export function exportQuery(format: ExportFormat, chosen: LabelSource[], minConfidence: string): string {
  const params = new URLSearchParams({ format });
  if (chosen.length > 0 && chosen.length < sources.length) params.set('source', chosen.join(','));
  if (minConfidence.trim() !== '') params.set('minConfidence', minConfidence.trim());
  return params.toString();
}

export function ExportScreen({ id }: { id: string }) {
  const dataset = useLoad((signal) => loadDataset(id, signal), [id]);
  const [format, setFormat] = useState<ExportFormat>('zip');
  const [chosen, setChosen] = useState<LabelSource[]>(['human', 'import', 'model']);
  const [minConfidence, setMinConfidence] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const toggle = (source: LabelSource) =>
    setChosen((all) => (all.includes(source) ? all.filter((s) => s !== source) : [...all, source]));

  const download = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setDone(null);
    if (chosen.length === 0) return setError(new Error('Choose at least one label source.'));
    const confidence = minConfidence.trim() === '' ? null : Number(minConfidence);
    if (confidence !== null && !(confidence >= 0 && confidence <= 1)) return setError(new Error('The minimum confidence is a number from 0 to 1.'));
    setBusy(true);
    try {
      const { blob, fileName } = await api.blob(`/v1/datasets/${encodeURIComponent(id)}/export?${exportQuery(format, chosen, minConfidence)}`);
      const name = fileName ?? `export.${format}`;
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = name;
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      // Give the browser time to start the download before the URL goes.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setDone(`Downloaded ${name} (${formatBytes(blob.size)}).`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const d = dataset.data;
  return (
    <section class="page">
      <h1>Export{d ? ` · ${d.name}` : ''}</h1>
      <ErrorNotice error={dataset.error} onRetry={dataset.reload} />
      {!d && dataset.loading && <Loading />}
      {d && (
        <p class="muted">
          {(d.statistics.byStatus['labelled'] ?? 0).toLocaleString()} labelled images: {d.statistics.bySource['human'] ?? 0} human,{' '}
          {d.statistics.bySource['import'] ?? 0} imported, {d.statistics.bySource['model'] ?? 0} by a model.
        </p>
      )}
      <form class="panel form" onSubmit={download} aria-label="Export">
        <fieldset class="fieldset fieldset-column">
          <legend>Format</legend>
          {formats.map((f) => (
            <label class="radio" key={f.value}>
              <input type="radio" name="format" value={f.value} checked={format === f.value} onChange={() => setFormat(f.value)} />
              <span>
                <strong>{f.label}</strong> <span class="muted">— {f.note}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <fieldset class="fieldset fieldset-column">
          <legend>Label sources</legend>
          {sources.map((s) => (
            <label class="checkbox" key={s.value}>
              <input type="checkbox" name="source" value={s.value} checked={chosen.includes(s.value)} onChange={() => toggle(s.value)} />
              <span>{s.label}</span>
            </label>
          ))}
        </fieldset>
        <label class="field">
          <span>Minimum confidence of model labels (0–1, optional)</span>
          <input
            name="minConfidence"
            type="number"
            step="any"
            min={0}
            max={1}
            placeholder="keep all"
            value={minConfidence}
            onInput={(e) => setMinConfidence((e.target as HTMLInputElement).value)}
          />
        </label>
        <ErrorNotice error={error} />
        {done && <Notice kind="success">{done}</Notice>}
        <div class="form-actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {busy ? 'Preparing the file…' : 'Download'}
          </button>
        </div>
      </form>
    </section>
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
