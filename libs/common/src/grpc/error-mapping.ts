// The one table from domain errors to gRPC status codes, and the conversion every
// server applies to whatever a handler throws.
import { ServerError, Status, type Metadata } from 'nice-grpc-common';
import { DomainError, type DomainErrorKind } from '../errors.js';
import type { Logger } from '../logger.js';

export const statusByErrorKind: Readonly<Record<DomainErrorKind, Status>> = {
  invalid_argument: Status.INVALID_ARGUMENT,
  not_found: Status.NOT_FOUND,
  already_exists: Status.ALREADY_EXISTS,
  conflict: Status.ABORTED,
  failed_precondition: Status.FAILED_PRECONDITION,
  unavailable: Status.UNAVAILABLE,
  unauthenticated: Status.UNAUTHENTICATED,
  permission_denied: Status.PERMISSION_DENIED,
  resource_exhausted: Status.RESOURCE_EXHAUSTED,
};

/** Trailing metadata key carrying a DomainError's `details` as JSON bytes. */
export const ERROR_DETAILS_TRAILER = 'labelloop-error-details-bin';

/** The message callers see for anything that is not a DomainError or ServerError. */
export const INTERNAL_ERROR_MESSAGE = 'internal error';

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/**
 * What a handler's error becomes on the wire: DomainError → its status and message;
 * ServerError and AbortError (the call was cancelled) pass through; anything else is a
 * bug and becomes INTERNAL with a generic message, logged here with its stack.
 */
export function toServerError(err: unknown, logger: Logger, method?: string): Error {
  if (err instanceof DomainError) return new ServerError(statusByErrorKind[err.kind], err.message);
  if (err instanceof ServerError || isAbortError(err)) return err as Error;
  logger.error({ err, method }, 'unhandled error in gRPC handler');
  return new ServerError(Status.INTERNAL, INTERNAL_ERROR_MESSAGE);
}

/** Puts a DomainError's details into the trailer so GrpcCallError.details gets them. */
export function setErrorDetailsTrailer(err: unknown, trailer: Metadata): void {
  if (err instanceof DomainError && err.details !== undefined) {
    trailer.set(ERROR_DETAILS_TRAILER, Buffer.from(JSON.stringify(err.details), 'utf8'));
  }
}

/** Reads the details back on the client; undefined when absent or unreadable. */
export function readErrorDetailsTrailer(trailer: Metadata | undefined): Record<string, unknown> | undefined {
  const bytes = trailer?.get(ERROR_DETAILS_TRAILER);
  if (bytes === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
