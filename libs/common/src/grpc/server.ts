// createGrpcServer: a nice-grpc server with the standard middlewares, grpc.health.v1,
// reflection over labelloop's descriptor set, and a graceful shutdown.
import { descriptorSetBase64 } from '@labelloop/proto';
import {
  createServer,
  ServerError,
  Status,
  type Server,
  type ServiceImplementation,
  type TsProtoServiceDefinition,
} from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl } from 'nice-grpc-server-health';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { HealthState } from './health.js';
import { malformedRequestMiddleware, withMalformedRequestMarkers } from './malformed-requests.js';
import { internalTokenMiddleware, serverCredentials, type GrpcSecurity } from './security.js';
import { errorMappingMiddleware, loggingMiddleware, requestIdMiddleware } from './server-middleware.js';

export interface CreateGrpcServerOptions {
  logger: Logger;
  registry: Registry;
  /** Largest message sent or received; gRPC's default is 4 MiB. */
  maxMessageBytes?: number;
  /** Encoded FileDescriptorSet for reflection; default: the one from @labelloop/proto. */
  descriptorSet?: Uint8Array;
  /** Internal token and/or TLS (security.ts); also settable with secure() before listen(). */
  security?: GrpcSecurity;
}

export interface GrpcServer {
  server: Server;
  health: HealthState;
  /**
   * Adds a service and records its name for health and reflection. Methods left out
   * answer UNIMPLEMENTED; annotate the object with the generated `XxxServiceImplementation`
   * type where every method must be there.
   */
  addService<D extends TsProtoServiceDefinition>(definition: D, implementation: Partial<ServiceImplementation<D>>): void;
  /**
   * Requires the internal token on every call but health checks, and/or serves TLS (security.ts).
   * Call before listen().
   */
  secure(security: GrpcSecurity): void;
  /** Binds 'host:port' (port 0 = any free one) and returns the port. Health stays NOT_SERVING. */
  listen(address: string): Promise<number>;
  /**
   * Health NOT_SERVING, then a graceful shutdown that lets in-flight calls finish; calls
   * still running after `timeoutMs` are cancelled.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

export function createGrpcServer(options: CreateGrpcServerOptions): GrpcServer {
  const { logger, registry, maxMessageBytes } = options;
  const channelOptions =
    maxMessageBytes === undefined
      ? {}
      : { 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.max_send_message_length': maxMessageBytes };
  let security: GrpcSecurity = options.security ?? {};
  const server = createServer(channelOptions)
    .use(requestIdMiddleware)
    .use(loggingMiddleware(logger, registry))
    .use(internalTokenMiddleware(() => security.internalToken))
    .use(malformedRequestMiddleware)
    .use(errorMappingMiddleware(logger));
  const health = new HealthState();
  const serviceNames: string[] = [];
  let listening = false;

  return {
    server,
    health,
    addService(definition, implementation) {
      if (listening) throw new Error(`addService(${definition.fullName}) after listen()`);
      server.add(withMalformedRequestMarkers(definition), withUnimplemented(definition, implementation));
      serviceNames.push(definition.fullName);
      health.register(definition.fullName);
    },
    secure(next) {
      if (listening) throw new Error('secure() after listen()');
      security = next;
    },
    async listen(address) {
      if (listening) throw new Error('listen() called twice');
      listening = true;
      server.add(HealthDefinition, HealthServiceImpl(health.state));
      const descriptorSet = options.descriptorSet ?? Buffer.from(descriptorSetBase64, 'base64');
      server.add(ServerReflectionService, ServerReflection(descriptorSet, [...serviceNames]));
      const port = await server.listen(address, serverCredentials(security.tls));
      logger.info(
        {
          address,
          port,
          services: serviceNames,
          internalToken: security.internalToken !== undefined,
          tls: security.tls ? (security.tls.ca ? 'mutual' : 'server') : 'off',
        },
        'gRPC server listening',
      );
      return port;
    },
    async shutdown(timeoutMs = 10_000) {
      health.setServing(false);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([server.shutdown().then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        logger.warn({ timeoutMs }, 'gRPC graceful shutdown timed out, cancelling remaining calls');
        server.forceShutdown();
      } else {
        logger.info('gRPC server stopped');
      }
    },
  };
}

/** A full implementation: given methods bound to their object, the rest UNIMPLEMENTED. */
function withUnimplemented<D extends TsProtoServiceDefinition>(
  definition: D,
  implementation: Partial<ServiceImplementation<D>>,
): ServiceImplementation<D> {
  const given = implementation as Record<string, unknown>;
  const full: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const fn = given[key];
    if (typeof fn === 'function') {
      full[key] = fn.bind(implementation);
      continue;
    }
    const unimplemented = () =>
      new ServerError(Status.UNIMPLEMENTED, `${definition.fullName}/${method.name} is not implemented`);
    full[key] = method.responseStream
      ? async function* () {
          throw unimplemented();
        }
      : async () => {
          throw unimplemented();
        };
  }
  return full as ServiceImplementation<D>;
}
