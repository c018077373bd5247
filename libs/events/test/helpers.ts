import { randomUUID } from 'node:crypto';
import { createLogger, type Logger } from '@labelloop/common';
import { datasetV1 } from '@labelloop/proto';

// Quiet by default; TEST_LOG_LEVEL=debug shows what the relay and consumers do.
export const logger: Logger = createLogger({
  service: 'events-test',
  level: (process.env.TEST_LOG_LEVEL as 'debug' | undefined) ?? 'silent',
});

export function itemLabeled(n: number): datasetV1.ItemLabeled {
  return datasetV1.ItemLabeled.fromPartial({
    eventId: randomUUID(),
    occurredAt: new Date(),
    datasetId: 'ds-1',
    itemId: `item-${n}`,
    label: n % 2 === 0 ? 'cat' : 'dog',
    actor: 'tester',
    version: n,
  });
}

/** Polls until check() is truthy; fails with `what` after timeoutMs. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
