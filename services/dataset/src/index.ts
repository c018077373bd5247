// @labelloop/dataset as a library: what the process entry point (main.ts) wires, for tests,
// e2e and the one-machine runner that start the service in-process.
export { createDatasetServer, MIGRATIONS_DIR, SCHEMA, type DatasetServer, type DatasetServerDeps } from './server.js';
export { loadConfig, DEFAULT_PGLITE_DIR, type DatasetConfig } from './config.js';
export { startEventRelay, type EventRelay, type EventRelayOptions } from './adapters/event-relay.js';
export {
  EXPORT_ITEMS_TOTAL,
  IMPORT_ITEMS_TOTAL,
  ITEMS_INGESTED_TOTAL,
  LABELS_TOTAL,
  createDatasetMetrics,
  type DatasetMetrics,
} from './metrics.js';
