// Test fixtures: real infrastructure for integration tests (own nats-server, in-process S3, PGlite
// or a fresh PostgreSQL database) and real MNIST images.
export { createTestDatabase, type TestDatabase } from './test-database.js';
export { startTestNats, type TestNats } from './test-nats.js';
export { startTestS3, type TestS3 } from './test-s3.js';
export { mnistCount, mnistLabel, mnistPixels, mnistPng, type MnistSet } from './mnist.js';
export { makeTempDir, uniqueSuffix, type TempDir } from './temp-dir.js';
