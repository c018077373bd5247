// The labelling session behind the review screen: where the next images come from, answers,
// undo, prefetching and the counters. Kept apart from the view so its rules read in one place.
//
// Where images come from: the review queue (GET …/review/next leases tasks, ordered by the
// dataset's acquisition strategy, with the model's suggestions) whenever it has tasks. When it is
// empty — before the first model exists, or while a new champion is still scoring the pool — the
// session serves unlabelled items from the item list (GET …/items?status=unlabelled, upload
// order) so labelling never stalls; the queue is asked again at every refill and wins as soon as
// it has tasks.
//
// Answers: a leased task is answered through POST …/review (label | skip | not_in_classes). An
// item from the list has no task: its label goes through PUT /v1/items/{id}/label with
// expectedVersion, a skip stores nothing, and not-in-classes is not offered (excluding an item is
// a review answer). The screen never waits for the server: it moves to the next (prefetched)
// image at once and the answer is sent in the background.
//
// Undo (Z) brings back the last answered image, one step per press:
// - a skip stored nothing yet (a leased skip is held back and sent with the next answer, so
//   undoing it keeps the lease), so the image simply comes back;
// - a label (or not-in-classes) was stored; the image comes back showing that answer, and the
//   next answer for it sets the label again through PUT /v1/items/{id}/label with the version our
//   answer produced (S keeps the stored answer). There is no "unanswer".
import { batch, computed, signal } from '@preact/signals';
import { ApiError, errorMessage } from '../api/client.js';
import type { ApiClient } from '../api/client.js';
import type { Item, ItemPage, ReviewAnswerResults, ReviewTask, ReviewTaskList } from '../api/types.js';

export type Reason = ReviewTask['reason'] | 'unlabelled';
export type Action = 'label' | 'skip' | 'not_in_classes';

export interface Entry {
  item: Item;
  /** A review task leased to us (answered through POST …/review) or an item from the list. */
  leased: boolean;
  reason: Reason;
  suggestions: Array<{ label: string; confidence: number }>;
  currentLabel: string | null;
  /** Object URL of the prefetched image; null while it loads. */
  imageUrl: string | null;
  imageError: string | null;
  /** Set when the entry came back through undo: the answer stored before. */
  undone: Answered | null;
}

export interface Answered {
  entry: Entry;
  action: Action;
  label?: string;
  /** Resolves to the item as stored after the answer (null when nothing was stored or it failed). */
  saved: Promise<Item | null>;
  /** A leased skip not sent yet (it goes with the next answer). */
  heldSkip: boolean;
}

const BATCH = 10;
const LOW_WATER = 4;
const HISTORY = 50;

export class ReviewSession {
  readonly current = signal<Entry | null>(null);
  readonly buffer = signal<Entry[]>([]);
  readonly history = signal<Answered[]>([]);
  readonly labelled = signal(0);
  readonly skipped = signal(0);
  /** Open tasks nobody holds (queue) or unlabelled items (list), besides those on screen. */
  readonly remainingElsewhere = signal<number | null>(null);
  readonly mode = signal<'queue' | 'list' | null>(null);
  readonly exhausted = signal(false);
  readonly loading = signal(false);
  readonly message = signal<{ kind: 'info' | 'error'; text: string } | null>(null);
  readonly startedAt = signal<number | null>(null);
  /** Bumped whenever a prefetched image arrives (entries are updated in place). */
  readonly images = signal(0);
  /** Why the review queue could not be asked (the list serves meanwhile). */
  readonly queueProblem = signal<string | null>(null);
  readonly remaining = computed(() => {
    const elsewhere = this.remainingElsewhere.value;
    if (elsewhere === null) return null;
    return elsewhere + this.buffer.value.length + (this.current.value ? 1 : 0);
  });

  private listCursor: string | null = null;
  private listRestarted = false;
  /** Items this session has shown (the list may return them again until they are labelled). */
  private readonly seen = new Set<string>();
  private refilling: Promise<void> | null = null;
  private heldSkip: Answered | null = null;
  private readonly aborter = new AbortController();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly api: ApiClient,
    readonly datasetId: string,
    readonly classes: string[],
  ) {}

  private get base(): string {
    return `/v1/datasets/${encodeURIComponent(this.datasetId)}`;
  }

  async start(): Promise<void> {
    await this.refill();
    if (!this.current.value) this.advance();
  }

  /** After "nothing left": ask the queue and the list again. */
  async checkAgain(): Promise<void> {
    this.exhausted.value = false;
    await this.refill();
    if (!this.current.value) this.advance();
  }

  /** The page is going away (tab closed, reload): send a held skip with a request that outlives it. */
  leavePage(): void {
    const held = this.heldSkip;
    if (!held) return;
    this.heldSkip = null;
    void this.api
      .fetch(`${this.base}/review`, {
        method: 'POST',
        keepalive: true,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ answers: [{ itemId: held.entry.item.id, action: 'skip' }] }),
      })
      .catch(() => {});
  }

  /** Sends a held skip, stops prefetching and frees the images. */
  async close(): Promise<void> {
    const held = this.heldSkip;
    this.heldSkip = null;
    if (held) await this.sendReview([{ itemId: held.entry.item.id, action: 'skip' }]).catch(() => {});
    this.aborter.abort();
    await Promise.allSettled([...this.pending]);
    for (const entry of this.withImages) if (entry.imageUrl) URL.revokeObjectURL(entry.imageUrl);
    this.withImages.clear();
  }

  /** Answer the image on screen. Returns false when the answer is not possible (message says why). */
  answer(action: Action, label?: string): boolean {
    const entry = this.current.value;
    if (!entry) return false;
    if (action === 'label' && (!label || !this.classes.includes(label))) return false;
    // Nobody labels an image they have not seen (a key pressed while it still loads).
    if (!entry.imageUrl && action !== 'skip') return false;
    if (entry.undone) return this.reanswer(entry, entry.undone, action, label);
    if (action === 'not_in_classes' && !entry.leased) {
      this.message.value = {
        kind: 'info',
        text: 'Not-in-classes is a review-queue answer; this image comes from the unlabelled list. Skip it (S) or pick a class.',
      };
      return false;
    }

    let answered: Answered;
    if (!entry.leased) {
      this.flushHeldSkip();
      const saved =
        action === 'label'
          ? this.track(
              this.api
                .put<Item>(`/v1/items/${encodeURIComponent(entry.item.id)}/label`, { label, expectedVersion: entry.item.labelVersion })
                .catch((err: unknown) => this.failed(entry, err)),
            )
          : Promise.resolve(null);
      answered = { entry, action, ...(label ? { label } : {}), saved, heldSkip: false };
    } else if (action === 'skip') {
      // Held back: undo keeps the lease; it travels with the next answer (or on leaving).
      answered = { entry, action, saved: Promise.resolve(null), heldSkip: true };
    } else {
      const answers = [{ itemId: entry.item.id, action, ...(label ? { label } : {}) }];
      const saved = this.track(this.sendWithHeldSkip(answers).then(
        (result) => this.resultItem(entry, result, label),
        (err: unknown) => this.failed(entry, err),
      ));
      answered = { entry, action, ...(label ? { label } : {}), saved, heldSkip: false };
    }
    if (answered.heldSkip) {
      this.flushHeldSkip();
      this.heldSkip = answered;
    }
    this.record(answered);
    return true;
  }

  /** Z: bring back the last answered image. */
  undo(): boolean {
    const history = this.history.value;
    const last = history[history.length - 1];
    if (!last) {
      this.message.value = { kind: 'info', text: 'Nothing to undo.' };
      return false;
    }
    batch(() => {
      this.history.value = history.slice(0, -1);
      if (last.action === 'skip') this.skipped.value--;
      else this.labelled.value--;
      const current = this.current.value;
      if (current) this.buffer.value = [current, ...this.buffer.value];
      if (this.heldSkip === last) this.heldSkip = null;
      // A skip already sent released the lease: from now on the item is answered like a list item.
      else if (last.action === 'skip') last.entry.leased = false;
      // A skip stored nothing: the image is simply back. Anything else was stored.
      last.entry.undone = last.action === 'skip' ? null : last;
      this.current.value = last.entry;
      this.message.value =
        last.action === 'skip'
          ? { kind: 'info', text: 'Undone: the skipped image is back.' }
          : {
              kind: 'info',
              text: `Undone: you had answered ${describe(last)}. Answer again to change it; S keeps it.`,
            };
    });
    return true;
  }

  private reanswer(entry: Entry, before: Answered, action: Action, label?: string): boolean {
    if (action === 'not_in_classes' && before.action !== 'not_in_classes') {
      this.message.value = { kind: 'info', text: 'A stored label cannot become not-in-classes here: pick a class, or S to keep it.' };
      return false;
    }
    entry.undone = null;
    const unchanged = action === 'skip' || (action === before.action && label === before.label);
    const saved = unchanged
      ? before.saved
      : this.track(
          before.saved.then(async (stored) => {
            // Our earlier answer produced `stored`; set the label again on top of that version.
            const version = stored?.labelVersion ?? entry.item.labelVersion;
            return this.api
              .put<Item>(`/v1/items/${encodeURIComponent(entry.item.id)}/label`, { label, expectedVersion: version })
              .catch((err: unknown) => this.failed(entry, err));
          }),
        );
    // The stored answer stands when kept; otherwise the new one replaces it.
    this.record(unchanged ? { ...before, saved } : { entry, action, ...(label ? { label } : {}), saved, heldSkip: false });
    return true;
  }

  private record(answered: Answered): void {
    batch(() => {
      this.history.value = [...this.history.value, answered].slice(-HISTORY);
      if (answered.action === 'skip') this.skipped.value++;
      else this.labelled.value++;
      this.startedAt.value ??= Date.now();
      this.advance();
    });
    this.releaseOldImages();
    void this.refillIfLow();
  }

  private advance(): void {
    const [next, ...rest] = this.buffer.value;
    batch(() => {
      this.current.value = next ?? null;
      this.buffer.value = rest;
    });
  }

  private async refillIfLow(): Promise<void> {
    if (this.buffer.value.length >= LOW_WATER || this.exhausted.value) return;
    await this.refill();
    if (!this.current.value) this.advance();
  }

  /** Adds up to BATCH entries: leased tasks when the queue has any, else unlabelled items. */
  refill(): Promise<void> {
    this.refilling ??= this.fetchMore().finally(() => {
      this.refilling = null;
    });
    return this.refilling;
  }

  private async fetchMore(): Promise<void> {
    const signal = this.aborter.signal;
    this.loading.value = true;
    try {
      let entries: Entry[] = [];
      let queue: ReviewTaskList | null = null;
      try {
        queue = await this.api.get<ReviewTaskList>(`${this.base}/review/next?limit=${BATCH}`, signal);
        this.queueProblem.value = null;
      } catch (err) {
        if (signal.aborted || !(err instanceof ApiError)) throw err;
        this.queueProblem.value = errorMessage(err);
      }
      entries = (queue?.tasks ?? []).filter((t) => !this.onScreen(t.item.id)).map((task) => this.entryOfTask(task));
      if (queue && entries.length > 0) {
        this.mode.value = 'queue';
        this.remainingElsewhere.value = queue.remaining;
      } else {
        entries = await this.fromList(signal);
        if (entries.length > 0 || this.mode.value === null) this.mode.value = 'list';
      }
      for (const entry of entries) this.seen.add(entry.item.id);
      this.buffer.value = [...this.buffer.value, ...entries];
      // Nothing new: stop asking on every answer until the labeller checks again.
      this.exhausted.value = entries.length === 0;
      for (const entry of entries) this.prefetch(entry);
    } catch (err) {
      if (!signal.aborted) this.message.value = { kind: 'error', text: `Could not fetch more images: ${errorMessage(err)}` };
    } finally {
      this.loading.value = false;
    }
  }

  private async fromList(signal: AbortSignal): Promise<Entry[]> {
    const entries: Entry[] = [];
    // Pages forward from where the last one ended; once past the end, one more pass from the
    // start picks up items skipped or released meanwhile (the session's own skips stay out).
    for (let pages = 0; pages < 5 && entries.length < BATCH; pages++) {
      const cursor = this.listCursor ? `&cursor=${encodeURIComponent(this.listCursor)}` : '';
      const page = await this.api.get<ItemPage>(`${this.base}/items?status=unlabelled&limit=${BATCH * 2}${cursor}`, signal);
      for (const item of page.items) {
        if (!this.seen.has(item.id) && entries.length < BATCH) entries.push(this.entryOfItem(item));
      }
      this.listCursor = page.nextCursor;
      if (!page.nextCursor) {
        if (this.listRestarted || entries.length > 0) break;
        this.listRestarted = true;
      }
    }
    if (this.listCursor === null && entries.length > 0) this.listRestarted = false;
    const stats = await this.api.get<{ statistics: { byStatus: Record<string, number> } }>(this.base, signal);
    const unlabelled = stats.statistics.byStatus['unlabelled'] ?? 0;
    const onScreen = this.buffer.value.length + (this.current.value ? 1 : 0) + entries.length;
    this.remainingElsewhere.value = Math.max(0, unlabelled - onScreen);
    return entries;
  }

  private onScreen(itemId: string): boolean {
    return this.current.value?.item.id === itemId || this.buffer.value.some((e) => e.item.id === itemId);
  }

  private entryOfTask(task: ReviewTask): Entry {
    return {
      item: task.item,
      leased: true,
      reason: task.reason,
      suggestions: task.reason === 'audit' ? [] : task.suggestions,
      currentLabel: task.reason === 'suspected_label_error' ? task.currentLabel : null,
      imageUrl: null,
      imageError: null,
      undone: null,
    };
  }

  private entryOfItem(item: Item): Entry {
    return { item, leased: false, reason: 'unlabelled', suggestions: [], currentLabel: null, imageUrl: null, imageError: null, undone: null };
  }

  /** Fetches and decodes the image ahead of time, so showing it costs nothing. */
  private prefetch(entry: Entry): void {
    const task = this.api
      .blob(`/v1/items/${encodeURIComponent(entry.item.id)}/image`, this.aborter.signal)
      .then(async ({ blob }) => {
        const url = URL.createObjectURL(blob);
        const image = new Image();
        image.src = url;
        await image.decode().catch(() => {});
        this.withImages.add(entry);
        this.replace(entry, { imageUrl: url });
      })
      .catch((err: unknown) => {
        if (!this.aborter.signal.aborted) this.replace(entry, { imageError: errorMessage(err) });
      });
    this.track(task);
  }

  /** Entries keep their identity (undo and answers refer to them); `images` tells the view. */
  private replace(entry: Entry, patch: Partial<Entry>): void {
    Object.assign(entry, patch);
    this.images.value++;
  }

  private sendReview(answers: Array<{ itemId: string; action: Action; label?: string }>): Promise<ReviewAnswerResults> {
    return this.api.post<ReviewAnswerResults>(`${this.base}/review`, { answers });
  }

  private flushHeldSkip(): void {
    const held = this.heldSkip;
    if (!held) return;
    this.heldSkip = null;
    this.track(this.sendReview([{ itemId: held.entry.item.id, action: 'skip' }]).catch(() => {}));
  }

  /** The answer, with a held skip in the same request. */
  private sendWithHeldSkip(answers: Array<{ itemId: string; action: Action; label?: string }>): Promise<ReviewAnswerResults> {
    const held = this.heldSkip;
    this.heldSkip = null;
    const all = held ? [{ itemId: held.entry.item.id, action: 'skip' as const }, ...answers] : answers;
    return this.sendReview(all);
  }

  private async resultItem(entry: Entry, results: ReviewAnswerResults, label?: string): Promise<Item | null> {
    const result = results.results.find((r) => r.itemId === entry.item.id);
    if (result?.accepted) return result.item;
    // The lease was lost (it expired, or the queue was rebuilt): a label still counts as a human label.
    if (label && result && (result.code === 'lease_lost' || result.code === 'not_leased')) {
      return this.api
        .put<Item>(`/v1/items/${encodeURIComponent(entry.item.id)}/label`, { label, expectedVersion: entry.item.labelVersion })
        .catch((err: unknown) => this.failed(entry, err));
    }
    this.message.value = {
      kind: 'error',
      text: `${entry.item.fileName}: the answer was refused — ${result?.reason ?? result?.code ?? 'no result'}. Press Z to bring it back.`,
    };
    return null;
  }

  private failed(entry: Entry, err: unknown): null {
    if (this.aborter.signal.aborted) return null;
    const text =
      err instanceof ApiError && err.status === 409
        ? `${entry.item.fileName} was labelled by someone else meanwhile; their label stands.`
        : `${entry.item.fileName}: the answer was not saved — ${errorMessage(err)} Press Z to bring it back.`;
    this.message.value = { kind: 'error', text };
    return null;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => {});
    return promise;
  }

  /** Frees the images of entries that left the screen, the buffer and the undo history. */
  private releaseOldImages(): void {
    const kept = new Set<Entry | null>([this.current.value, ...this.buffer.value, ...this.history.value.map((a) => a.entry)]);
    for (const entry of this.withImages) {
      if (kept.has(entry)) continue;
      if (entry.imageUrl) URL.revokeObjectURL(entry.imageUrl);
      entry.imageUrl = null;
      this.withImages.delete(entry);
    }
  }
  private readonly withImages = new Set<Entry>();
}

function describe(answer: Answered): string {
  if (answer.action === 'label') return `“${answer.label}”`;
  if (answer.action === 'not_in_classes') return 'not in classes';
  return 'skip';
}
