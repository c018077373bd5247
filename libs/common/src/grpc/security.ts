// Who may call labelloop's gRPC ports. Two options, usable together:
//  - an internal token: every server refuses calls whose `authorization` metadata is not
//    `Bearer <INTERNAL_TOKEN>` (UNAUTHENTICATED); every channel made with the token sends it.
//    Compared in constant time (SHA-256 of both sides, then timingSafeEqual: equal lengths, no
//    early exit), so timing tells nothing about how much of a guess was right.
//  - TLS: GRPC_TLS_CERT + GRPC_TLS_KEY make the server speak TLS; with GRPC_TLS_CA it also
//    requires client certificates signed by that CA (mutual TLS). Channels trust GRPC_TLS_CA and
//    present GRPC_TLS_CERT/KEY. One certificate per service serves both roles (extended key usage
//    serverAuth + clientAuth), with the service's address host name among its SANs.
// grpc.health.v1 stays open without a token (kubelet's gRPC probes send no metadata); it tells
// only SERVING / NOT_SERVING.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { Metadata, ServerError, Status, type CallContext, type ServerMiddleware, type ServerMiddlewareCall } from 'nice-grpc-common';
import { z } from 'zod';

export const AUTHORIZATION_METADATA = 'authorization';
/** Methods callable without the token. */
const OPEN_SERVICES = ['/grpc.health.v1.Health/'];
export const MIN_INTERNAL_TOKEN_LENGTH = 24;

export interface GrpcTls {
  /** PEM certificate chain of this service. */
  cert: Buffer;
  /** PEM private key of `cert`. */
  key: Buffer;
  /** PEM CA bundle: servers require client certificates signed by it; channels trust it. */
  ca?: Buffer;
}

export interface GrpcSecurity {
  /** Shared secret every caller must present; unset: no token is required or sent. */
  internalToken?: string;
  tls?: GrpcTls;
}

const optional = z
  .string()
  .optional()
  .transform((raw) => (raw === undefined || raw.trim() === '' ? undefined : raw.trim()));

/** INTERNAL_TOKEN and the GRPC_TLS_* file paths, for every service's config schema. */
export const grpcSecurityEnvSchema = z.object({
  /** Shared secret of the gRPC ports (e.g. `openssl rand -base64 32`); unset: ports are open. */
  INTERNAL_TOKEN: optional.refine((token) => token === undefined || token.length >= MIN_INTERNAL_TOKEN_LENGTH, {
    message: `must be at least ${MIN_INTERNAL_TOKEN_LENGTH} characters (use a random token, e.g. \`openssl rand -base64 32\`)`,
  }),
  /** PEM certificate file of this service: turns on TLS for its gRPC server and client certificates. */
  GRPC_TLS_CERT: optional,
  /** PEM private key file of GRPC_TLS_CERT. */
  GRPC_TLS_KEY: optional,
  /** PEM CA file: peers' certificates must be signed by it (mutual TLS). */
  GRPC_TLS_CA: optional,
});
export type GrpcSecurityEnv = z.output<typeof grpcSecurityEnvSchema>;

/** Reads the files GRPC_TLS_* name; throws naming the variable when one is missing or unreadable. */
export function loadGrpcSecurity(env: GrpcSecurityEnv): GrpcSecurity {
  const read = (name: keyof GrpcSecurityEnv, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${name}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const security: GrpcSecurity = {};
  if (env.INTERNAL_TOKEN) security.internalToken = env.INTERNAL_TOKEN;
  if (env.GRPC_TLS_CERT || env.GRPC_TLS_KEY) {
    if (!env.GRPC_TLS_CERT || !env.GRPC_TLS_KEY) throw new Error('GRPC_TLS_CERT and GRPC_TLS_KEY go together');
    security.tls = { cert: read('GRPC_TLS_CERT', env.GRPC_TLS_CERT), key: read('GRPC_TLS_KEY', env.GRPC_TLS_KEY) };
    if (env.GRPC_TLS_CA) security.tls.ca = read('GRPC_TLS_CA', env.GRPC_TLS_CA);
  } else if (env.GRPC_TLS_CA) {
    throw new Error('GRPC_TLS_CA needs GRPC_TLS_CERT and GRPC_TLS_KEY');
  }
  return security;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time check of a presented `authorization` value against `Bearer <token>`. */
export function internalTokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(`Bearer ${token}`));
}

/**
 * Refuses calls without the token while `token()` returns one (read per call, so a server can be
 * secured after construction, before listen). Open services pass.
 */
export function internalTokenMiddleware(token: () => string | undefined): ServerMiddleware {
  return async function* <Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
    const expected = token();
    if (expected !== undefined && !OPEN_SERVICES.some((prefix) => call.method.path.startsWith(prefix))) {
      if (!internalTokenMatches(context.metadata.get(AUTHORIZATION_METADATA), expected)) {
        throw new ServerError(
          Status.UNAUTHENTICATED,
          'this gRPC port needs the internal token: send `authorization: Bearer <INTERNAL_TOKEN>` metadata',
        );
      }
    }
    return yield* call.next(call.request, context);
  };
}

export function serverCredentials(tls: GrpcTls | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  // With a CA, client certificates are required (mutual TLS).
  return ServerCredentials.createSsl(tls.ca ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.ca !== undefined);
}

export function channelCredentials(tls: GrpcTls | undefined): ChannelCredentials {
  if (!tls) return ChannelCredentials.createInsecure();
  return ChannelCredentials.createSsl(tls.ca ?? null, tls.key, tls.cert);
}

/** Metadata carrying the token (for clients made outside createGrpcClient, e.g. raw grpc-js). */
export function internalTokenMetadata(token: string): Metadata {
  return Metadata({ [AUTHORIZATION_METADATA]: `Bearer ${token}` });
}
