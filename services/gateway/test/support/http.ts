// Small fetch helpers for the gateway tests: real HTTP, real multipart (undici FormData).
import assert from 'node:assert/strict';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: Array<{ fileName?: string; path?: string; code: string; reason: string }>;
  [extension: string]: unknown;
}

export interface FilePart {
  name: string;
  content: Buffer;
  type?: string;
  /** Form field name; default 'file'. */
  field?: string;
}

export class Client {
  constructor(
    readonly baseUrl: string,
    readonly key?: string,
  ) {}

  as(key: string | undefined): Client {
    return new Client(this.baseUrl, key);
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.key ? { authorization: `Bearer ${this.key}`, ...extra } : extra;
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(this.baseUrl + path, { ...init, headers: { ...this.headers(), ...(init.headers as Record<string, string>) } });
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, { headers });
  }

  send(method: string, path: string, body: unknown): Promise<Response> {
    return this.fetch(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  /** A multipart POST with the fields first, then the files, in order. */
  postForm(
    path: string,
    fields: Array<[string, string]>,
    files: FilePart[],
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    for (const file of files) {
      form.append(file.field ?? 'file', new Blob([file.content], { type: file.type ?? 'image/png' }), file.name);
    }
    return this.fetch(path, { method: 'POST', body: form, headers });
  }
}

/** Asserts a problem+json answer with `status` and returns its body. */
export async function expectProblem(response: Response, status: number): Promise<Problem> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const problem = JSON.parse(text) as Problem;
  assert.equal(problem.status, status);
  assert.equal(typeof problem.title, 'string');
  assert.equal(typeof problem.detail, 'string');
  assert.match(problem.type, /^urn:labelloop:problem:/);
  return problem;
}

export async function expectJson<T = Record<string, unknown>>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return JSON.parse(text) as T;
}
