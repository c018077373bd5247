import assert from 'node:assert/strict';
import { mnistLabel, mnistPng } from '@labelloop/testing';
import { type Api, filesForm } from './api.js';
import type { Cluster } from './cluster.js';

// What several drills do: make a dataset of MNIST digits through REST, label through REST with a
// deadline per request, and wait for conditions.

export const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface Digit {
  id: string;
  /** The digit's true class. */
  label: string;
}

export async function createDataset(api: Api, name: string): Promise<string> {
  const created = await api.post('/v1/datasets', { name, classes: DIGITS });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

/**
 * Uploads MNIST training digits [from, from + count) through REST, 100 files per request; with
 * `labelled`, each request carries one class as its label field (so those arrive labelled).
 */
export async function uploadDigits(api: Api, datasetId: string, options: { from: number; count: number; labelled?: boolean }): Promise<Digit[]> {
  const indices = Array.from({ length: options.count }, (_, i) => options.from + i);
  const groups = new Map<string, number[]>();
  if (options.labelled) for (const i of indices) groups.set(String(mnistLabel('train', i)), [...(groups.get(String(mnistLabel('train', i))) ?? []), i]);
  else groups.set('', indices);
  const out: Digit[] = [];
  for (const [label, group] of groups) {
    for (let start = 0; start < group.length; start += 100) {
      const chunk = group.slice(start, start + 100);
      const files = await Promise.all(chunk.map(async (i) => ({ name: `train-${i}.png`, bytes: await mnistPng('train', i) })));
      const response = await api.post(`/v1/datasets/${datasetId}/items`, filesForm(files, label || undefined));
      assert.equal(response.status, 201, JSON.stringify(response.body).slice(0, 500));
      assert.equal(response.body.created, chunk.length);
      response.body.results.forEach((result: any, k: number) => out.push({ id: result.item.id, label: String(mnistLabel('train', chunk[k]!)) }));
    }
  }
  return out;
}

export interface Answer {
  status: number;
  body: any;
  ms: number;
  /** Set when no HTTP answer came (connection refused or reset, or the deadline passed). */
  error?: string;
}

/** One REST call with a deadline: a drill must never wait on a request forever. */
export async function call(baseUrl: string, key: string, method: string, path: string, body?: unknown, timeoutMs = 20_000): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed, ms: performance.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { status: 0, body: undefined, ms: performance.now() - started, error: cause ?? (err as Error).name ?? String(err) };
  }
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each label request a labeller made, with what came back. */
export interface LabelAttempt {
  itemId: string;
  label: string;
  answer: Answer;
}

/**
 * A labeller working through its items one PUT /v1/items/{id}/label at a time until `stop()` or its
 * items run out, pausing `paceMs` between labels.
 */
export function labeller(cluster: Cluster, key: string, items: Digit[], paceMs: number): { attempts: LabelAttempt[]; stop: () => Promise<void> } {
  const attempts: LabelAttempt[] = [];
  let stopped = false;
  const done = (async () => {
    for (const item of items) {
      if (stopped) break;
      const answer = await call(cluster.gatewayUrl, key, 'PUT', `/v1/items/${item.id}/label`, { label: item.label });
      attempts.push({ itemId: item.id, label: item.label, answer });
      await sleep(paceMs);
    }
  })();
  return {
    attempts,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** The item's stored label and how many history rows it has, straight from the database. */
export async function storedLabels(cluster: Cluster, itemIds: string[]): Promise<Map<string, { label: string | null; history: number }>> {
  const { rows } = await cluster.database.pool.query<{ id: string; label: string | null; history: string }>(
    `SELECT i.id, i.label, (SELECT count(*) FROM dataset.item_labels h WHERE h.item_id = i.id) AS history
       FROM dataset.items i WHERE i.id = ANY($1::uuid[])`,
    [itemIds],
  );
  return new Map(rows.map((r) => [r.id, { label: r.label, history: Number(r.history) }]));
}
