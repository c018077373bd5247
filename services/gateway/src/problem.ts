// RFC 9457 problem details: every non-2xx answer of the gateway is one of these, and
// gRPC status codes become HTTP status codes here, once.
import { STATUS_CODES } from 'node:http';
import { GrpcCallError, Status, type Logger } from '@labelloop/common';
import type { Request, Response } from 'express';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One entry of a problem's `errors`: a file (uploads, imports) or a request field. */
export interface ProblemEntry {
  fileName?: string;
  /** Where in the request, e.g. `body.classes.0` or `query.limit`. */
  path?: string;
  code: string;
  reason: string;
}

export interface ProblemOptions {
  errors?: ProblemEntry[];
  headers?: Record<string, string>;
  /** Extension members merged into the body (e.g. `results` of a partly processed upload). */
  extensions?: Record<string, unknown>;
}

/** Thrown by handlers and middleware; the error handler writes it as problem+json. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly options: ProblemOptions = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

const slugs: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'content-too-large',
  415: 'unsupported-media-type',
  422: 'unprocessable-content',
  429: 'too-many-requests',
  500: 'internal-error',
  503: 'unavailable',
  504: 'upstream-timeout',
};

export function problemType(status: number): string {
  return `urn:labelloop:problem:${slugs[status] ?? String(status)}`;
}

/** gRPC status → HTTP status; anything not listed is a 500. */
export const httpStatusByGrpcCode: Partial<Record<Status, number>> = {
  [Status.INVALID_ARGUMENT]: 400,
  [Status.OUT_OF_RANGE]: 400,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.ABORTED]: 409,
  [Status.FAILED_PRECONDITION]: 422,
  [Status.RESOURCE_EXHAUSTED]: 413,
  [Status.UNAVAILABLE]: 503,
  [Status.DEADLINE_EXCEEDED]: 504,
  // UNAUTHENTICATED / PERMISSION_DENIED from a service mean the gateway itself is refused (a wrong
  // INTERNAL_TOKEN or certificate): a server misconfiguration, logged and answered 500, never a
  // 401 that would blame the caller's API key.
};

const GENERIC_500 = 'The server could not handle the request; it has been logged.';

/** Per-entry errors a callee put in its error details (`details.errors`), when well-formed. */
export function entriesFromDetails(details: Record<string, unknown> | undefined): ProblemEntry[] | undefined {
  const errors = details?.errors;
  if (!Array.isArray(errors)) return undefined;
  const entries = errors.flatMap((entry: unknown): ProblemEntry[] => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { fileName, code, reason } = entry as Record<string, unknown>;
    if (typeof code !== 'string' || typeof reason !== 'string') return [];
    return [typeof fileName === 'string' ? { fileName, code, reason } : { code, reason }];
  });
  return entries.length > 0 ? entries : undefined;
}

/** '/labelloop.training.v1.TrainerService/GetModel' → 'trainer'. */
function calleeName(method: string): string {
  const service = /\.(\w+)Service\//.exec(method)?.[1];
  return service ? service.toLowerCase() : 'upstream';
}

function fromGrpc(err: GrpcCallError): HttpProblem {
  const status = httpStatusByGrpcCode[err.code] ?? 500;
  const callee = calleeName(err.method);
  if (status === 503) {
    // The callee answered, but a dependency of its own (object storage, database) is down: say which.
    const dependency = typeof err.details?.dependency === 'string' ? err.details.dependency : undefined;
    const detail = dependency
      ? `The ${callee} service cannot reach its ${dependency} right now; retry shortly.`
      : `The ${callee} service is unavailable; retry shortly.`;
    return new HttpProblem(503, detail, { headers: { 'Retry-After': '5' } });
  }
  if (status === 504) return new HttpProblem(504, `The ${callee} service did not answer in time.`);
  if (status === 500) return new HttpProblem(500, GENERIC_500);
  const errors = entriesFromDetails(err.details);
  return new HttpProblem(status, err.message, errors ? { errors } : {});
}

// body-parser marks its errors with `type`; see its README.
function fromBodyParser(err: { type: string; status?: number }): HttpProblem | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new HttpProblem(400, 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new HttpProblem(413, 'The request body is larger than this endpoint accepts.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem(415, 'The request body uses an unsupported encoding or charset.');
    case 'request.aborted':
      return new HttpProblem(400, 'The client aborted the request.');
    default:
      return undefined;
  }
}

/**
 * What an error becomes on the wire. Errors without a known mapping are bugs or outages:
 * logged with their stack and answered 500 with a generic detail.
 */
export function toProblem(err: unknown, logger: Logger): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof GrpcCallError) {
    const problem = fromGrpc(err);
    if (problem.status >= 500) logger.error({ err, grpcCode: Status[err.code], method: err.method }, 'service call failed');
    return problem;
  }
  if (typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string') {
    const problem = fromBodyParser(err as { type: string });
    if (problem) return problem;
  }
  // express marks undecodable paths (URIError) with status 400.
  if (err instanceof URIError) return new HttpProblem(400, `The URL is not valid percent-encoding (${err.message}).`);
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpProblem(status, STATUS_CODES[status] ?? 'Bad request');
  }
  logger.error({ err }, 'unhandled error in request');
  return new HttpProblem(500, GENERIC_500);
}

/** Writes `problem` as application/problem+json. */
export function sendProblem(req: Request, res: Response, problem: HttpProblem): void {
  const { status, detail, options } = problem;
  for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
  const body = {
    type: problemType(status),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: req.originalUrl.split('?', 1)[0],
    ...(options.errors ? { errors: options.errors } : {}),
    ...options.extensions,
    requestId: res.locals.requestId as string | undefined,
  };
  res.status(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}
