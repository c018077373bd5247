// The labelling screen: one image large, the model's suggestions, a key map. Keys: 1–9 and 0
// pick the first ten classes, Enter accepts the top suggestion, S skips, N not in classes,
// Z undoes the last answer. The next images are already loaded (see ReviewSession).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { DatasetWithStatistics } from '../api/types.js';
import { Empty, ErrorNotice, Link, Loading, useLoad } from '../components/common.js';
import { type Entry, ReviewSession } from '../state/review-session.js';
import { datasetPath } from '../state/router.js';
import { api, can } from '../state/session.js';
import { loadDataset } from './dataset.js';

/** Key for the class at `index`: 1..9, then 0 for the tenth; none beyond. */
export function keyForClass(index: number): string | null {
  if (index < 9) return String(index + 1);
  if (index === 9) return '0';
  return null;
}

function classForKey(key: string, classes: string[]): string | null {
  if (!/^[0-9]$/.test(key)) return null;
  const index = key === '0' ? 9 : Number(key) - 1;
  return classes[index] ?? null;
}

const reasonText: Record<Entry['reason'], string> = {
  uncertain: 'Uncertain: the model needs this one',
  audit: 'Audit: checks an auto-label (no suggestion shown)',
  suspected_label_error: 'Second look: the model doubts the current label',
  unlabelled: 'Unlabelled (no model suggestions yet)',
};

export function ReviewScreen({ id }: { id: string }) {
  const dataset = useLoad((signal) => loadDataset(id, signal), [id]);
  if (!can('labeller')) {
    return (
      <section class="page">
        <h1>Label</h1>
        <Empty title="Labelling needs the labeller role">
          <p class="muted">Your key can look at datasets and models; ask an admin for a labeller key.</p>
        </Empty>
      </section>
    );
  }
  if (!dataset.data) {
    return (
      <section class="page">
        <ErrorNotice error={dataset.error} onRetry={dataset.reload} />
        {dataset.loading && <Loading what="Loading the dataset" />}
      </section>
    );
  }
  return <Labeller dataset={dataset.data} />;
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

function Labeller({ dataset }: { dataset: DatasetWithStatistics }) {
  const session = useMemo(() => new ReviewSession(api, dataset.id, dataset.classes), [dataset.id]);
  const [starting, setStarting] = useState(true);
  const now = useNow(1000);
  const region = useRef<HTMLElement>(null);
  // Focus on the labelling area, not on the tab that led here: the keys are the interface.
  useEffect(() => region.current?.focus(), []);

  useEffect(() => {
    void session.start().finally(() => setStarting(false));
    const onPageHide = () => session.leavePage();
    window.addEventListener('pagehide', onPageHide);
    return () => {
      window.removeEventListener('pagehide', onPageHide);
      void session.close();
    };
  }, [session]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      const target = event.target as HTMLElement | null;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      // Enter on a focused button or link does what that control says (keyboard navigation).
      if (event.key === 'Enter' && target && /^(BUTTON|A)$/.test(target.tagName)) return;
      const entry = session.current.value;
      const key = event.key;
      let handled = true;
      if (key === 'z' || key === 'Z') session.undo();
      else if (!entry) handled = false;
      else if (key === 'Enter') {
        const top = entry.suggestions[0];
        if (top) session.answer('label', top.label);
        else session.message.value = { kind: 'info', text: 'No suggestion for this image: pick a class with its key.' };
      } else if (key === 's' || key === 'S') session.answer('skip');
      else if (key === 'n' || key === 'N') session.answer('not_in_classes');
      else {
        const label = classForKey(key, dataset.classes);
        if (label) session.answer('label', label);
        else handled = false;
      }
      if (handled) {
        event.preventDefault();
        // A click on a button must not leave it focused, or Enter would press it again.
        if (document.activeElement instanceof HTMLButtonElement) document.activeElement.blur();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [session, dataset.classes]);

  void session.images.value; // re-render when a prefetched image arrives
  const entry = session.current.value;
  const started = session.startedAt.value;
  const minutes = started ? Math.max((now - started) / 60_000, 1 / 60) : 0;
  const rate = started ? session.labelled.value / minutes : 0;
  const remaining = session.remaining.value;
  const message = session.message.value;

  return (
    <section
      class="page review"
      aria-label="Labelling"
      tabIndex={-1}
      ref={region}
      // After a mouse click on a button, focus goes back to the labelling area, so Enter means
      // "accept the suggestion" again rather than "press that button once more".
      onClick={(e) => {
        if (e.detail > 0 && (e.target as HTMLElement).closest('button')) region.current?.focus();
      }}
    >
      <div class="review-bar">
        <div>
          <h1 class="review-title">Label · {dataset.name}</h1>
          <p class="muted review-source" data-testid="review-source">
            {session.mode.value === 'queue'
              ? `Review queue, most informative first (${dataset.activeLearning.strategy.replace('_', ' ')})`
              : session.mode.value === 'list'
                ? 'No review tasks right now: unlabelled images in upload order. Once a model has scored the pool, the most informative images come first.'
                : 'Looking for images…'}
          </p>
        </div>
        <dl class="review-counters">
          <div>
            <dt>Done</dt>
            <dd data-testid="done-count">{session.labelled.value}</dd>
          </div>
          <div>
            <dt>Skipped</dt>
            <dd>{session.skipped.value}</dd>
          </div>
          <div>
            <dt>Remaining</dt>
            <dd data-testid="remaining-count">{remaining === null ? '…' : remaining.toLocaleString()}</dd>
          </div>
          <div>
            <dt>Rate</dt>
            <dd data-testid="rate">{started ? `${rate.toFixed(1)}/min` : '—'}</dd>
          </div>
        </dl>
      </div>
      {message && (
        <div class={`notice notice-${message.kind === 'error' ? 'error' : 'info'}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="review-message">
          {message.text}
        </div>
      )}
      {session.queueProblem.value && (
        <div class="notice notice-warning" role="status">
          The review queue is unavailable ({session.queueProblem.value}); showing unlabelled images.
        </div>
      )}
      <div class="review-main">
        <div class="review-stage">
          {entry ? (
            <Stage entry={entry} />
          ) : starting || session.loading.value ? (
            <Loading what="Finding images to label" />
          ) : (
            <Empty title="Nothing left to label">
              <p class="muted">Every image has a label, or the rest are held by other labellers. Train a model to auto-label and to find the images worth a second look.</p>
              <div class="actions">
                <button type="button" class="button" onClick={() => void session.checkAgain()}>
                  Check again
                </button>
                <Link href={datasetPath(dataset.id, 'models')} class="button button-primary">
                  Models and training
                </Link>
              </div>
            </Empty>
          )}
        </div>
        <aside class="review-side">
          {entry && <Suggestions entry={entry} />}
          <ClassKeys classes={dataset.classes} onPick={(label) => session.answer('label', label)} disabled={!entry} />
          <div class="review-actions">
            <button type="button" class="button" disabled={!entry} onClick={() => session.answer('skip')}>
              <kbd>S</kbd> Skip
            </button>
            <button type="button" class="button" disabled={!entry || (!entry.leased && !entry.undone)} onClick={() => session.answer('not_in_classes')}>
              <kbd>N</kbd> Not in classes
            </button>
            <button type="button" class="button" disabled={session.history.value.length === 0} onClick={() => session.undo()}>
              <kbd>Z</kbd> Undo
            </button>
          </div>
        </aside>
      </div>
    </section>
  );
}

function Stage({ entry }: { entry: Entry }) {
  return (
    <figure class="stage" data-testid="review-item" data-item-id={entry.item.id}>
      <div class="stage-image">
        {entry.imageUrl ? (
          <img src={entry.imageUrl} alt={`Image ${entry.item.fileName}`} class={entry.item.width <= 64 ? 'pixelated' : ''} />
        ) : entry.imageError ? (
          <p class="job-error" role="alert">
            The image could not be loaded: {entry.imageError}
          </p>
        ) : (
          <Loading what="Loading the image" />
        )}
      </div>
      <figcaption>
        <span class={`reason reason-${entry.reason}`}>{reasonText[entry.reason]}</span>
        <span class="muted">
          {entry.item.fileName} · {entry.item.width}×{entry.item.height}
        </span>
        {entry.currentLabel && (
          <span class="current-label" data-testid="current-label">
            Current label: <strong>{entry.currentLabel}</strong>
          </span>
        )}
        {entry.undone && (
          <span class="current-label">
            Your answer: <strong>{entry.undone.action === 'label' ? entry.undone.label : 'not in classes'}</strong>
          </span>
        )}
      </figcaption>
    </figure>
  );
}

function Suggestions({ entry }: { entry: Entry }) {
  if (entry.reason === 'audit') return <p class="muted suggestions-none">Audit image: label it yourself, without a hint.</p>;
  if (entry.suggestions.length === 0) return <p class="muted suggestions-none">No model suggestions for this image.</p>;
  return (
    <section class="suggestions" aria-label="Model suggestions">
      <h2>Suggestions</h2>
      <ol>
        {entry.suggestions.map((s, i) => (
          <li key={s.label} class={i === 0 ? 'suggestion-top' : ''}>
            <span class="suggestion-label">
              {i === 0 && <kbd>Enter</kbd>} {s.label}
            </span>
            <span class="suggestion-bar" aria-hidden="true">
              <span style={{ width: `${Math.round(s.confidence * 100)}%` }} />
            </span>
            <span class="suggestion-confidence">{(s.confidence * 100).toFixed(1)} %</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function ClassKeys({ classes, onPick, disabled }: { classes: string[]; onPick: (label: string) => void; disabled: boolean }) {
  const [filter, setFilter] = useState('');
  const extra = classes.length > 10;
  const shown = extra && filter ? classes.filter((c) => c.toLowerCase().includes(filter.toLowerCase())) : classes;
  return (
    <div class="keymap" aria-label="Classes and their keys">
      <h2>Classes</h2>
      {extra && (
        <input
          type="search"
          class="keymap-filter"
          placeholder={`Find one of ${classes.length} classes`}
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && shown.length === 1 && !disabled) {
              onPick(shown[0]!);
              setFilter('');
              (e.target as HTMLInputElement).blur();
            }
            if (e.key === 'Escape') (e.target as HTMLInputElement).blur();
          }}
        />
      )}
      <ul class="keymap-list">
        {shown.map((c) => {
          const key = keyForClass(classes.indexOf(c));
          return (
            <li key={c}>
              <button type="button" class="keymap-button" disabled={disabled} onClick={() => onPick(c)}>
                {key ? <kbd>{key}</kbd> : <kbd class="kbd-empty" aria-hidden="true" />}
                <span>{c}</span>
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
