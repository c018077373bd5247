// The three middlewares every labelloop gRPC server runs, outermost first:
// request id → logging + metrics → error mapping. They are async generators, so unary
// and streaming calls both pass through them unchanged.
import {
  ServerError,
  Status,
  type CallContext,
  type ServerMiddleware,
  type ServerMiddlewareCall,
} from 'nice-grpc-common';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { GRPC_SERVER_HANDLED_TOTAL, GRPC_SERVER_HANDLING_SECONDS } from '../metric-names.js';
import { counterOn, histogramOn } from '../metrics.js';
import { newRequestId, withRequestId } from '../request-context.js';
import { isAbortError, setErrorDetailsTrailer, toServerError } from './error-mapping.js';

export const REQUEST_ID_METADATA = 'x-request-id';

// Ids from callers end up in logs: accept only short, plain tokens (UUIDs, trace ids).
const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** '/labelloop.dataset.v1.DatasetService/GetDataset' → service and method labels. */
export function splitMethodPath(path: string): { service: string; method: string } {
  const [, service = '', method = ''] = path.split('/');
  return { service, method };
}

/**
 * Takes `x-request-id` from the caller (or makes one), echoes it in the response header
 * and runs the rest of the call with it current, so logs and outgoing calls carry it.
 */
export const requestIdMiddleware: ServerMiddleware = async function* <Req, Res>(
  call: ServerMiddlewareCall<Req, Res>,
  context: CallContext,
) {
  const incoming = context.metadata.get(REQUEST_ID_METADATA);
  const requestId = incoming !== undefined && validRequestId.test(incoming) ? incoming : newRequestId();
  context.header.set(REQUEST_ID_METADATA, requestId);
  const next: AsyncGenerator<Res, Res | void, undefined> = call.next(call.request, context);
  return yield* withRequestId(requestId, next);
};

/** Logs each call (debug; warn for INTERNAL/UNKNOWN) and counts and times it. */
export function loggingMiddleware(logger: Logger, registry: Registry): ServerMiddleware {
  const handled = counterOn(registry, GRPC_SERVER_HANDLED_TOTAL, 'gRPC calls finished by the server', [
    'grpc_service',
    'grpc_method',
    'grpc_code',
  ]);
  const seconds = histogramOn(
    registry,
    GRPC_SERVER_HANDLING_SECONDS,
    'Seconds the server took per gRPC call',
    ['grpc_service', 'grpc_method'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  return async function* <Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
    const { service, method } = splitMethodPath(call.method.path);
    const started = performance.now();
    let code = Status.OK;
    try {
      return yield* call.next(call.request, context);
    } catch (err) {
      code = err instanceof ServerError ? err.code : isAbortError(err) ? Status.CANCELLED : Status.UNKNOWN;
      throw err;
    } finally {
      // A streaming call the client cancelled ends through return(), not an error.
      if (code === Status.OK && context.signal.aborted) code = Status.CANCELLED;
      const durationMs = performance.now() - started;
      handled.inc({ grpc_service: service, grpc_method: method, grpc_code: Status[code] });
      seconds.observe({ grpc_service: service, grpc_method: method }, durationMs / 1000);
      const fields = { method: call.method.path, code: Status[code], durationMs: Math.round(durationMs * 10) / 10 };
      if (code === Status.INTERNAL || code === Status.UNKNOWN) logger.warn(fields, 'gRPC call failed');
      else logger.debug(fields, 'gRPC call');
    }
  };
}

/** Converts whatever the handler throws with toServerError; DomainError details go in the trailer. */
export function errorMappingMiddleware(logger: Logger): ServerMiddleware {
  return async function* <Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
    try {
      return yield* call.next(call.request, context);
    } catch (err) {
      setErrorDetailsTrailer(err, context.trailer);
      throw toServerError(err, logger, call.method.path);
    }
  };
}
