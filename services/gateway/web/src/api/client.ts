// Every call of the app goes through here: the API key as a Bearer header (never in a URL),
// problem+json errors turned into readable messages, uploads with progress (XMLHttpRequest:
// fetch cannot report upload progress), downloads as blobs and server-sent events read from a
// fetch stream (EventSource cannot send a header).
import { createParser } from 'eventsource-parser';
import type { Problem } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(describeProblem(problem));
    this.name = 'ApiError';
  }
}

/** The problem's detail, then its first few per-field or per-file reasons. */
export function describeProblem(problem: Problem): string {
  const entries = (problem.errors ?? []).slice(0, 3).map((e) => `${e.fileName ?? e.path ?? e.code}: ${e.reason}`);
  const more = (problem.errors?.length ?? 0) > 3 ? ` (+${problem.errors!.length - 3} more)` : '';
  return entries.length > 0 ? `${problem.detail} — ${entries.join('; ')}${more}` : problem.detail;
}

/** A readable message for anything thrown by a call. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof DOMException && err.name === 'AbortError') return 'Cancelled.';
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The file name of a Content-Disposition header: filename*=UTF-8''…, filename="…" or filename=…. */
export function fileNameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  const extended = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (extended) return decodeURIComponent(extended[1]!.trim());
  const plain = /filename=(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(disposition);
  if (!plain) return null;
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2]!.trim();
}

async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (typeof body.detail === 'string') return { ...body, status: response.status, detail: body.detail };
  } catch {
    // not JSON: a proxy's error page
  }
  return { status: response.status, detail: `The server answered ${response.status} ${response.statusText}.`.trim() };
}

const unreachable = (err: unknown): ApiError =>
  new ApiError(0, { status: 0, detail: `The server cannot be reached (${err instanceof Error ? err.message : String(err)}).` });

export class ApiClient {
  /** Called when the server refuses the key (401): the session is over. */
  onUnauthorized: () => void = () => {};

  constructor(private readonly getKey: () => string | null) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = this.getKey();
    return key ? { authorization: `Bearer ${key}`, ...extra } : extra;
  }

  /** fetch with the key; a non-2xx answer throws ApiError with the problem's detail. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(path, { ...init, headers: this.headers(init.headers as Record<string, string> | undefined) });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw unreachable(err);
    }
    if (!response.ok) {
      const problem = await problemOf(response);
      if (response.status === 401) this.onUnauthorized();
      throw new ApiError(response.status, problem);
    }
    return response;
  }

  async json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const init: RequestInit = { method, signal: signal ?? null };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const response = await this.fetch(path, init);
    return (await response.json()) as T;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.json<T>('GET', path, undefined, signal);
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.json<T>('POST', path, body);
  }
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.json<T>('PUT', path, body);
  }

  /** A binary answer (an image, an export) and the file name its Content-Disposition gives. */
  async blob(path: string, signal?: AbortSignal): Promise<{ blob: Blob; fileName: string | null }> {
    const response = await this.fetch(path, { signal: signal ?? null });
    return { blob: await response.blob(), fileName: fileNameOf(response.headers.get('content-disposition')) };
  }

  /** POST multipart with upload progress (0..1); the JSON answer, or ApiError. */
  upload<T>(path: string, form: FormData, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      for (const [name, value] of Object.entries(this.headers())) xhr.setRequestHeader(name, value);
      xhr.responseType = 'text';
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        let body: unknown;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = undefined;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve(body as T);
          return;
        }
        const problem = body as Partial<Problem> | undefined;
        if (xhr.status === 401) this.onUnauthorized();
        reject(
          new ApiError(
            xhr.status,
            typeof problem?.detail === 'string'
              ? { ...problem, status: xhr.status, detail: problem.detail }
              : { status: xhr.status, detail: `The server answered ${xhr.status} ${xhr.statusText}.` },
          ),
        );
      };
      xhr.onerror = () => reject(unreachable(new Error('network error')));
      xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(form);
    });
  }

  /**
   * Reads a text/event-stream until it ends or `signal` aborts, calling onEvent for each event
   * (name, parsed JSON data). Resolves when the server closes the stream.
   */
  async events(path: string, onEvent: (name: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
    const response = await this.fetch(path, { signal, headers: { accept: 'text/event-stream' } });
    if (!response.body) throw new Error('The event stream has no body.');
    const parser = createParser({
      onEvent: (event) => {
        let data: unknown = event.data;
        try {
          data = JSON.parse(event.data);
        } catch {
          // plain text data
        }
        onEvent(event.event ?? 'message', data);
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.feed(value);
      }
    } finally {
      reader.releaseLock();
    }
  }
}
