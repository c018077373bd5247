import { createGrpcChannel, createGrpcClient, createLogger, createMetricsRegistry, type GrpcClient, type Logger, type Registry } from '@labelloop/common';
import { inferenceV1 } from '@labelloop/proto';
import type { BlobStore } from '@labelloop/storage';
import { createInferenceServer, type InferenceServer, type InferenceServerDeps } from '../../src/server.js';
import { PredictPool } from '../../src/workers/predict-pool.js';

export const logger: Logger = createLogger({ service: 'inference-test', level: (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent' });

export type InferenceClient = GrpcClient<typeof inferenceV1.InferenceServiceDefinition>;

export interface RunningInference {
  server: InferenceServer;
  pool: PredictPool;
  registry: Registry;
  client: InferenceClient;
  close(): Promise<void>;
}

/** An inference server in this process with its own predict workers, listening on a free port. */
export async function startInference(
  blobs: BlobStore,
  options: { workers?: number; idleModelCache?: number; scoring?: InferenceServerDeps['scoring'] } = {},
): Promise<RunningInference> {
  const pool = await PredictPool.start({ workers: options.workers ?? 2, backend: 'wasm', blobs, logger });
  const registry = createMetricsRegistry('inference');
  const server = createInferenceServer({ blobs, pool, logger, registry, idleModelCache: options.idleModelCache, scoring: options.scoring });
  const port = await server.grpc.listen('127.0.0.1:0');
  server.grpc.health.setServing(true);
  const channel = createGrpcChannel(`127.0.0.1:${port}`, { maxMessageBytes: 64 * 1024 * 1024 });
  return {
    server,
    pool,
    registry,
    client: createGrpcClient(inferenceV1.InferenceServiceDefinition, channel),
    async close() {
      await server.scoring?.stop({ graceMs: 0 });
      await server.champions.stop();
      channel.close();
      await server.grpc.shutdown(5000);
      await pool.close();
    },
  };
}

/** Polls until `check` returns a value. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
