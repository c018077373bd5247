// Domain errors: thrown by domain code, mapped to gRPC status codes in one table
// (grpc/error-mapping.ts) and from there to HTTP by the gateway.

export type DomainErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'conflict'
  | 'failed_precondition'
  | 'unavailable'
  | 'unauthenticated'
  | 'permission_denied'
  | 'resource_exhausted';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** Structured detail safe to show to callers (e.g. per-file errors). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_argument', message, details);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('not_found', message, details);
  }
}

export class AlreadyExistsError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('already_exists', message, details);
  }
}

/** A concurrent change won (e.g. a stale expectedVersion). gRPC ABORTED, HTTP 409. */
export class ConflictError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, details);
  }
}

export class FailedPreconditionError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('failed_precondition', message, details);
  }
}

/** A dependency (S3, database, NATS) cannot be reached right now; the caller may retry. */
export class UnavailableError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('unavailable', message, details);
  }
}

export class ResourceExhaustedError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('resource_exhausted', message, details);
  }
}

/** The caller did not prove who it is (missing or unknown credentials). HTTP 401. */
export class UnauthenticatedError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('unauthenticated', message, details);
  }
}

/** The caller is known but may not do this. HTTP 403. */
export class PermissionDeniedError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('permission_denied', message, details);
  }
}
