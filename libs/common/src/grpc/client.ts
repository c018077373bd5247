// gRPC clients for calling other labelloop services: the caller's request id travels in
// `x-request-id`, unary calls get a default deadline, and failures surface as
// GrpcCallError with the callee's structured details.
import {
  ClientError,
  createChannel,
  createClientFactory,
  Metadata,
  Status,
  type CallOptions,
  type Channel,
  type Client,
  type ClientMiddleware,
  type ClientMiddlewareCall,
  type CompatServiceDefinition,
} from 'nice-grpc';
import type { Counter, Registry } from 'prom-client';
import { GRPC_CLIENT_HANDLED_TOTAL } from '../metric-names.js';
import { counterOn } from '../metrics.js';
import { currentRequestId } from '../request-context.js';
import { isAbortError, readErrorDetailsTrailer } from './error-mapping.js';
import { AUTHORIZATION_METADATA, channelCredentials, type GrpcSecurity } from './security.js';
import { REQUEST_ID_METADATA, splitMethodPath } from './server-middleware.js';

/** A failed call to another service. `message` is the callee's status message. */
export class GrpcCallError extends Error {
  constructor(
    /** '/package.Service/Method' */
    readonly method: string,
    readonly code: Status,
    message: string,
    /** The callee DomainError's details, if it had any. */
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GrpcCallError';
  }
}

/** Options every call of a client made here accepts, besides nice-grpc's CallOptions. */
export interface GrpcCallOptions {
  /** Cancel the call with DEADLINE_EXCEEDED after this many ms (Infinity: never). */
  timeoutMs?: number;
}

export type GrpcClient<D extends CompatServiceDefinition> = Client<D, GrpcCallOptions>;

/** The internal token each channel made by createGrpcChannel sends (clients look it up here). */
const channelTokens = new WeakMap<Channel, string>();

export interface GrpcChannelOptions {
  maxMessageBytes?: number;
  /** Internal token sent by every client on this channel, and/or TLS credentials (security.ts). */
  security?: GrpcSecurity;
  /** Raw grpc-js channel options (e.g. 'grpc.ssl_target_name_override'). */
  channelOptions?: Record<string, string | number>;
}

export function createGrpcChannel(address: string, options: GrpcChannelOptions = {}): Channel {
  const { maxMessageBytes, security } = options;
  const channel = createChannel(address, channelCredentials(security?.tls), {
    ...(maxMessageBytes === undefined
      ? {}
      : { 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.max_send_message_length': maxMessageBytes }),
    ...options.channelOptions,
  });
  if (security?.internalToken) channelTokens.set(channel, security.internalToken);
  return channel;
}

export interface CreateGrpcClientOptions {
  /** Deadline of unary calls that pass no timeoutMs; streaming calls get none. Default 30 s. */
  defaultDeadlineMs?: number;
  /** Counts calls in labelloop_grpc_client_handled_total when given. */
  registry?: Registry;
}

export function createGrpcClient<D extends CompatServiceDefinition>(
  definition: D,
  channel: Channel,
  options: CreateGrpcClientOptions = {},
): GrpcClient<D> {
  const handled =
    options.registry &&
    counterOn(options.registry, GRPC_CLIENT_HANDLED_TOTAL, 'gRPC calls finished by a client', [
      'grpc_service',
      'grpc_method',
      'grpc_code',
    ]);
  // The middleware attached last runs first: errors/metrics wrap everything.
  return createClientFactory()
    .use(deadlineMiddleware(options.defaultDeadlineMs ?? 30_000))
    .use(requestIdClientMiddleware)
    .use(internalTokenClientMiddleware(channelTokens.get(channel)))
    .use(callErrorMiddleware(handled))
    .create(definition, channel);
}

function internalTokenClientMiddleware(token: string | undefined): ClientMiddleware {
  return async function* <Req, Res>(call: ClientMiddlewareCall<Req, Res>, options: CallOptions) {
    if (token === undefined) return yield* call.next(call.request, options);
    const metadata = Metadata(options.metadata);
    if (!metadata.has(AUTHORIZATION_METADATA)) metadata.set(AUTHORIZATION_METADATA, `Bearer ${token}`);
    return yield* call.next(call.request, { ...options, metadata });
  };
}

function deadlineMiddleware(defaultDeadlineMs: number): ClientMiddleware<GrpcCallOptions> {
  return async function* <Req, Res>(call: ClientMiddlewareCall<Req, Res>, options: CallOptions & GrpcCallOptions) {
    const unary = !call.requestStream && !call.responseStream;
    const { timeoutMs = unary ? defaultDeadlineMs : undefined, ...rest } = options;
    if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return yield* call.next(call.request, rest);

    const controller = new AbortController();
    const abort = () => controller.abort();
    if (rest.signal?.aborted) abort();
    rest.signal?.addEventListener('abort', abort);
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      abort();
    }, timeoutMs);
    try {
      return yield* call.next(call.request, { ...rest, signal: controller.signal });
    } catch (err) {
      if (expired && isAbortError(err)) {
        throw new ClientError(call.method.path, Status.DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms exceeded`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      rest.signal?.removeEventListener('abort', abort);
    }
  };
}

const requestIdClientMiddleware: ClientMiddleware = async function* <Req, Res>(
  call: ClientMiddlewareCall<Req, Res>,
  options: CallOptions,
) {
  const requestId = currentRequestId();
  if (requestId === undefined) return yield* call.next(call.request, options);
  const metadata = Metadata(options.metadata);
  if (!metadata.has(REQUEST_ID_METADATA)) metadata.set(REQUEST_ID_METADATA, requestId);
  return yield* call.next(call.request, { ...options, metadata });
};

function callErrorMiddleware(handled: Counter<string> | undefined): ClientMiddleware {
  return async function* <Req, Res>(call: ClientMiddlewareCall<Req, Res>, options: CallOptions) {
    let trailer: Metadata | undefined;
    const onTrailer = (received: Metadata) => {
      trailer = received;
      options.onTrailer?.(received);
    };
    let code = Status.OK;
    try {
      return yield* call.next(call.request, { ...options, onTrailer });
    } catch (err) {
      if (err instanceof ClientError) {
        code = err.code;
        throw new GrpcCallError(err.path, err.code, err.details, readErrorDetailsTrailer(trailer), { cause: err });
      }
      code = isAbortError(err) ? Status.CANCELLED : Status.UNKNOWN;
      throw err;
    } finally {
      const { service, method } = splitMethodPath(call.method.path);
      handled?.inc({ grpc_service: service, grpc_method: method, grpc_code: Status[code] });
    }
  };
}
