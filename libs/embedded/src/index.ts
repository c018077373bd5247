// Embedded infrastructure for one-machine runs (`npm start`) and tests: an in-process S3 server
// and a nats-server child process. Production uses real endpoints from the environment.
export { freePort } from './free-port.js';
export { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3, type EmbeddedS3, type EmbeddedS3Options } from './embedded-s3.js';
export {
  findNatsServerBinary,
  NatsServerNotFoundError,
  startNatsServer,
  type NatsServerOptions,
  type NatsServerProcess,
} from './nats-server.js';
