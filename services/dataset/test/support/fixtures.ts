import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mnistLabel, mnistPng } from '@labelloop/testing';
import { ClientError, Status } from 'nice-grpc';
import yazl from 'yazl';

export const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface Digit {
  index: number;
  label: string;
  png: Buffer;
  sha256: string;
}

/** MNIST training images `from`..`from + count - 1` as PNG files with their digit. */
export async function digits(from: number, count: number): Promise<Digit[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const png = await mnistPng('train', from + i);
      return { index: from + i, label: String(mnistLabel('train', from + i)), png, sha256: sha256(png) };
    }),
  );
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Asserts that a call fails with the given gRPC status; returns the error for more checks. */
export async function expectStatus(promise: Promise<unknown>, code: Status): Promise<ClientError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ClientError, `expected a ClientError, got ${String(err)}`);
    assert.equal(Status[err.code], Status[code], err.details);
    return err;
  }
  assert.fail(`expected ${Status[code]}, but the call succeeded`);
}

/** Runs `fn` over `inputs` with at most `concurrency` at a time, results in input order. */
export async function mapLimit<T, R>(
  inputs: readonly T[],
  concurrency: number,
  fn: (input: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      results[i] = await fn(inputs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
  return results;
}

/** Fisher–Yates with a seeded generator, so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** A real ZIP archive (yazl) of the given files. */
export function zipOf(files: ReadonlyArray<{ path: string; bytes: Buffer }>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const file of files) zip.addBuffer(file.bytes, file.path, { compress: true });
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
