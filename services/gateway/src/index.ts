// @labelloop/gateway: the REST gateway's factory and configuration, for tests and e2e.
export { createApp, createRoutes, type AppDeps, type Limits } from './app.js';
export { loadConfig, configSchema, type Config } from './config.js';
export { ApiKeyStore, generateApiKey, hashApiKey, type ApiKeyRecord } from './auth/api-key-store.js';
export { seedAdminKey, ADMIN_KEY_BANNER, type SeedOutcome } from './auth/seed-admin-key.js';
export { DatasetGateway } from './clients/dataset.gateway.js';
export { TrainerGateway } from './clients/trainer.gateway.js';
export { buildOpenApiDocument, type OpenApiDocument } from './openapi/document.js';
export { HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS } from './metrics.js';
export { migrate, MIGRATIONS_DIR, SCHEMA } from './database.js';
