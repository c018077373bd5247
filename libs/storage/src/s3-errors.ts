import { NotFoundError, UnavailableError } from '@labelloop/common';

// S3 SDK errors → domain errors. The SDK has already retried (maxAttempts) by the time an
// error reaches us, so a network failure or 5xx here means storage is down for now.

interface SdkError extends Error {
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'SlowDown', 'ServiceUnavailable', 'InternalError']);

export function s3Status(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export function isS3NotFound(err: unknown): boolean {
  const name = (err as SdkError | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (s3Status(err) === 404 && name !== 'NoSuchBucket');
}

function isUnavailable(err: SdkError): boolean {
  if (err.code && NETWORK_CODES.has(err.code)) return true;
  if (UNAVAILABLE_NAMES.has(err.name)) return true;
  if (err.name === 'NoSuchBucket') return true; // misconfigured or not yet created: nothing works
  const status = s3Status(err);
  return status !== undefined && status >= 500;
}

/**
 * Maps an SDK error for `key` (or the bucket) to NotFoundError / UnavailableError; other errors
 * (access denied, bad request) pass through. `secrets` are scrubbed from the message.
 */
export function toBlobError(err: unknown, what: string, secrets: readonly string[]): unknown {
  if (!(err instanceof Error)) return err;
  if (isS3NotFound(err)) return new NotFoundError(`${what} not found`);
  if (!isUnavailable(err)) return err;
  const sdkError = err as SdkError;
  const status = s3Status(err);
  let detail = `${sdkError.code ?? err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`;
  for (const secret of secrets) if (secret) detail = detail.split(secret).join('***');
  // details.dependency lets a caller (the gateway) say which dependency is down without repeating
  // the SDK's message, which names internal endpoints.
  const unavailable = new UnavailableError(`object storage unavailable: ${detail}`, { dependency: 'object storage' });
  unavailable.cause = err;
  return unavailable;
}
