// @labelloop/trainer: the trainer service (the process starts from main.ts).
export { createTrainerServer, MIGRATIONS_DIR, SCHEMA, type TrainerServer, type TrainerServerDeps } from './server.js';
export { loadConfig, type TrainerConfig } from './config.js';
export { startMessaging, startPolicyConsumer, startWorkConsumer, workStreamName, type Messaging } from './adapters/messaging.js';
export { trainerEvents, workPrefix } from './adapters/trainer-events.js';
export * from './metrics.js';
