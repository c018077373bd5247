// @labelloop/common: what every labelloop service uses for configuration, logging,
// metrics, gRPC serving and calling, and shutdown. Nothing here does work on import.
export * from './errors.js';
export * from './config.js';
export * from './logger.js';
export * from './metrics.js';
export * from './metric-names.js';
export * from './request-context.js';
export * from './lifecycle.js';
export * from './grpc/error-mapping.js';
export * from './grpc/health.js';
export * from './grpc/server-middleware.js';
export * from './grpc/server.js';
export * from './grpc/client.js';
export * from './grpc/health-check.js';
export * from './grpc/security.js';
export * from './random.js';
export { Status, ServerError, Metadata } from 'nice-grpc-common';
