// The request id of the call being handled, carried through async code with
// AsyncLocalStorage so logs and outgoing gRPC calls pick it up without threading it
// through every function.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` (and everything it starts) with `requestId` as the current request id. */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

/** The request id of the current call, or undefined outside of one. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** A fresh request id (UUID v4). */
export function newRequestId(): string {
  return randomUUID();
}

/**
 * Drives `generator` so that each step runs with `requestId` current. A generator's body
 * runs in the context of whoever calls next(), so wrapping its creation in
 * runWithRequestId is not enough; nice-grpc middlewares are async generators.
 */
export async function* withRequestId<T, R>(
  requestId: string,
  generator: AsyncGenerator<T, R, undefined>,
): AsyncGenerator<T, R, undefined> {
  let done = false;
  try {
    let step = await runWithRequestId(requestId, () => generator.next());
    while (!step.done) {
      try {
        yield step.value;
      } catch (err) {
        step = await runWithRequestId(requestId, () => generator.throw(err));
        continue;
      }
      step = await runWithRequestId(requestId, () => generator.next());
    }
    done = true;
    return step.value;
  } finally {
    // The consumer stopped early (return() or an error): let the inner generator clean up.
    if (!done) await runWithRequestId(requestId, () => generator.return(undefined as R));
  }
}
