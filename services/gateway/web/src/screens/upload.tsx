// Upload: drop images or ZIP archives (or pick them). Images go up in batches through
// POST …/items, each ZIP through POST …/imports and is then followed until ingested. Every
// upload and every import has its own progress bar; refused files are listed with the reason.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api/client.js';
import type { DatasetWithStatistics, Import, UploadResponse } from '../api/types.js';
import { ErrorNotice, Link, Loading, ProgressBar, useLoad } from '../components/common.js';
import { datasetPath } from '../state/router.js';
import { api } from '../state/session.js';
import { loadDataset } from './dataset.js';

/** Images per POST …/items request (the gateway accepts up to MAX_FILES_PER_UPLOAD, 1000 by default). */
const IMAGES_PER_REQUEST = 200;
const IMPORT_POLL_MS = 400;

interface FileProblem {
  fileName: string;
  reason: string;
}

interface Job {
  id: number;
  kind: 'images' | 'archive';
  title: string;
  files: File[];
  state: 'waiting' | 'uploading' | 'importing' | 'done' | 'failed';
  upload: number;
  /** Import progress (archives): processed / total. */
  importDone?: number;
  importTotal?: number;
  summary?: string;
  error?: string;
  problems: FileProblem[];
}

const isArchive = (file: File) => /\.zip$/i.test(file.name) || file.type === 'application/zip' || file.type === 'application/x-zip-compressed';
const isImage = (file: File) => /\.(png|jpe?g|webp)$/i.test(file.name) || /^image\/(png|jpeg|webp)$/.test(file.type);

export function UploadScreen({ id }: { id: string }) {
  const dataset = useLoad((signal) => loadDataset(id, signal), [id]);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [label, setLabel] = useState('');
  const [addMissingClasses, setAddMissingClasses] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [ignored, setIgnored] = useState<string[]>([]);
  const input = useRef<HTMLInputElement>(null);
  const nextId = useRef(1);
  const running = useRef(false);
  /** Jobs the queue has taken (the state may not have re-rendered yet). */
  const taken = useRef(new Set<number>());
  const jobsRef = useRef<Job[]>([]);
  jobsRef.current = jobs;
  const aborter = useRef(new AbortController());
  useEffect(() => () => aborter.current.abort(), []);

  const update = (jobId: number, patch: Partial<Job>) => setJobs((all) => all.map((j) => (j.id === jobId ? { ...j, ...patch } : j)));

  const addFiles = (files: File[]) => {
    const archives = files.filter(isArchive);
    const images = files.filter((f) => !isArchive(f) && isImage(f));
    setIgnored(files.filter((f) => !isArchive(f) && !isImage(f)).map((f) => f.name));
    const added: Job[] = archives.map((file) => ({
      id: nextId.current++,
      kind: 'archive',
      title: file.name,
      files: [file],
      state: 'waiting',
      upload: 0,
      problems: [],
    }));
    for (let i = 0; i < images.length; i += IMAGES_PER_REQUEST) {
      const batch = images.slice(i, i + IMAGES_PER_REQUEST);
      added.push({
        id: nextId.current++,
        kind: 'images',
        title: `${batch.length} image${batch.length === 1 ? '' : 's'}${label ? ` labelled “${label}”` : ''} (${batch[0]!.name}${batch.length > 1 ? ' …' : ''})`,
        files: batch,
        state: 'waiting',
        upload: 0,
        problems: [],
      });
    }
    if (added.length === 0) return;
    jobsRef.current = [...added, ...jobsRef.current];
    setJobs((all) => [...added, ...all]);
    // Jobs run one after another, so a big drop does not flood the server.
    setTimeout(() => void runQueue(label, addMissingClasses), 0);
  };

  const runQueue = async (labelNow: string, addMissing: boolean) => {
    if (running.current) return;
    running.current = true;
    try {
      for (;;) {
        const job = [...jobsRef.current].reverse().find((j) => j.state === 'waiting' && !taken.current.has(j.id));
        if (!job || aborter.current.signal.aborted) return;
        taken.current.add(job.id);
        if (job.kind === 'archive') await runArchive(job, addMissing);
        else await runImages(job, labelNow);
        dataset.reload();
      }
    } finally {
      running.current = false;
    }
  };

  const runImages = async (job: Job, labelNow: string) => {
    update(job.id, { state: 'uploading' });
    const form = new FormData();
    // The label field must come before the files (the gateway streams the parts).
    if (labelNow) form.append('label', labelNow);
    for (const file of job.files) form.append('file', file, file.name);
    try {
      const result = await api.upload<UploadResponse>(
        `/v1/datasets/${encodeURIComponent(id)}/items`,
        form,
        (fraction) => update(job.id, { upload: fraction }),
        aborter.current.signal,
      );
      const problems = result.results
        .filter((r) => r.outcome === 'rejected')
        .map((r) => ({ fileName: r.fileName, reason: r.error?.reason ?? 'refused' }));
      update(job.id, {
        state: 'done',
        upload: 1,
        summary: `${result.created} added, ${result.duplicates} already there, ${result.rejected} refused`,
        problems,
      });
    } catch (err) {
      const problems = err instanceof ApiError ? (err.problem.errors ?? []).map((e) => ({ fileName: e.fileName ?? e.path ?? e.code, reason: e.reason })) : [];
      update(job.id, { state: 'failed', error: err instanceof ApiError ? err.problem.detail : errorMessage(err), problems });
    }
  };

  const runArchive = async (job: Job, addMissing: boolean) => {
    update(job.id, { state: 'uploading' });
    const form = new FormData();
    if (addMissing) form.append('addMissingClasses', 'true');
    form.append('archive', job.files[0]!, job.files[0]!.name);
    let started: Import;
    try {
      started = await api.upload<Import>(
        `/v1/datasets/${encodeURIComponent(id)}/imports`,
        form,
        (fraction) => update(job.id, { upload: fraction }),
        aborter.current.signal,
      );
    } catch (err) {
      const problems = err instanceof ApiError ? (err.problem.errors ?? []).map((e) => ({ fileName: e.fileName ?? e.path ?? e.code, reason: e.reason })) : [];
      update(job.id, { state: 'failed', error: err instanceof ApiError ? err.problem.detail : errorMessage(err), problems });
      return;
    }
    update(job.id, { state: 'importing', upload: 1, importDone: started.processed, importTotal: started.total });
    let current = started;
    while (current.status === 'pending' || current.status === 'running') {
      await new Promise((r) => setTimeout(r, IMPORT_POLL_MS));
      if (aborter.current.signal.aborted) return;
      try {
        current = await api.get<Import>(`/v1/imports/${encodeURIComponent(started.id)}`, aborter.current.signal);
      } catch (err) {
        if (aborter.current.signal.aborted) return;
        update(job.id, { error: `Lost track of the import for now: ${errorMessage(err)} — retrying.` });
        continue;
      }
      update(job.id, { importDone: current.processed, importTotal: current.total, error: undefined });
    }
    const added = current.addedClasses.length > 0 ? `; classes added: ${current.addedClasses.join(', ')}` : '';
    update(job.id, {
      state: current.status === 'succeeded' ? 'done' : 'failed',
      importDone: current.processed,
      importTotal: current.total,
      summary: `${current.created} added, ${current.duplicates} already there, ${current.rejected} refused${added}`,
      error: current.status === 'failed' ? (current.failureReason ?? 'The import failed.') : undefined,
      problems: current.errors.map((e) => ({ fileName: e.fileName, reason: e.reason })),
    });
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    addFiles([...(event.dataTransfer?.files ?? [])]);
  };
  const openPicker = () => input.current?.click();
  const d: DatasetWithStatistics | undefined = dataset.data;

  return (
    <section class="page">
      <div class="page-head">
        <div>
          <h1>Upload{d ? ` to ${d.name}` : ''}</h1>
          <p class="muted">
            Images (PNG, JPEG, WebP) or ZIP archives with one folder per class, <code>unlabelled/</code> for images without a class, optionally inside{' '}
            <code>train/</code>, <code>validation/</code> or <code>test/</code>.
          </p>
        </div>
        {d && (
          <p class="muted" data-testid="upload-total">
            {d.statistics.totalItems.toLocaleString()} images in the dataset
          </p>
        )}
      </div>
      <ErrorNotice error={dataset.error} onRetry={dataset.reload} />
      {!d && dataset.loading && <Loading />}
      {d && (
        <div class="upload-options">
          <label class="field">
            <span>Label for dropped images</span>
            <select value={label} onChange={(e) => setLabel((e.target as HTMLSelectElement).value)} name="label">
              <option value="">none (unlabelled)</option>
              {d.classes.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          <label class="checkbox">
            <input type="checkbox" checked={addMissingClasses} onChange={(e) => setAddMissingClasses((e.target as HTMLInputElement).checked)} />
            <span>Add class folders of an archive that the dataset lacks</span>
          </label>
        </div>
      )}
      <div
        class={`dropzone${dragging ? ' dropzone-active' : ''}`}
        role="button"
        tabIndex={0}
        aria-label="Drop images or ZIP archives here, or press Enter to choose files"
        data-testid="dropzone"
        onClick={openPicker}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            openPicker();
          }
        }}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p class="dropzone-title">Drop images or ZIP archives here</p>
        <p class="muted">or click / press Enter to choose files</p>
        <input
          ref={input}
          type="file"
          multiple
          hidden
          accept="image/png,image/jpeg,image/webp,.zip,application/zip"
          data-testid="file-input"
          onChange={(e) => {
            const target = e.target as HTMLInputElement;
            addFiles([...(target.files ?? [])]);
            target.value = '';
          }}
        />
      </div>
      {ignored.length > 0 && (
        <div class="notice notice-warning" role="status">
          Not uploaded (not an image or ZIP): {ignored.slice(0, 5).join(', ')}
          {ignored.length > 5 ? ` and ${ignored.length - 5} more` : ''}
        </div>
      )}
      <ol class="jobs" aria-label="Uploads and imports">
        {jobs.map((job) => (
          <li key={job.id} class={`job job-${job.state}`} data-testid="upload-job">
            <div class="job-head">
              <strong>{job.title}</strong>
              <span class="job-state">{stateText(job)}</span>
            </div>
            <ProgressBar value={job.upload} label="Upload" testId="upload-progress" />
            {job.kind === 'archive' && job.importTotal !== undefined && (
              <ProgressBar
                value={job.importTotal === 0 ? (job.state === 'done' ? 1 : 0) : (job.importDone ?? 0) / job.importTotal}
                label={`Import: ${(job.importDone ?? 0).toLocaleString()} of ${job.importTotal.toLocaleString()} files`}
                testId="import-progress"
              />
            )}
            {job.summary && <p class="job-summary">{job.summary}</p>}
            {job.error && (
              <p class="job-error" role="alert">
                {job.error}
              </p>
            )}
            {job.problems.length > 0 && (
              <details class="job-problems" open={job.problems.length <= 5}>
                <summary>
                  {job.problems.length} file{job.problems.length === 1 ? '' : 's'} refused
                </summary>
                <ul>
                  {job.problems.map((p, i) => (
                    <li key={i}>
                      <code>{p.fileName}</code>: {p.reason}
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </li>
        ))}
      </ol>
      {jobs.some((j) => j.state === 'done') && (
        <p>
          <Link href={datasetPath(id, 'review')} class="button button-primary">
            Start labelling →
          </Link>
        </p>
      )}
    </section>
  );
}

function stateText(job: Job): string {
  switch (job.state) {
    case 'waiting':
      return 'waiting';
    case 'uploading':
      return 'uploading…';
    case 'importing':
      return 'importing…';
    case 'done':
      return 'done';
    case 'failed':
      return 'failed';
  }
}
