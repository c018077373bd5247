import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createGrpcChannel, createGrpcClient } from '@labelloop/common';
import { trainingV1 } from '@labelloop/proto';
import type { Infra, TrainerClient } from './harness.js';

// A trainer as a real process (src/main.ts run from source), for kill -9 and SIGTERM drills.

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TrainerProcess {
  child: ChildProcess;
  client: TrainerClient;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  output(): string;
  close(): void;
}

/** `database`: { url } (PostgreSQL) or { pgliteDir } — processes share it one after another on PGlite. */
export async function spawnTrainer(infra: Infra, database: { url?: string; pgliteDir?: string }, env: Record<string, string> = {}): Promise<TrainerProcess> {
  const [grpcPort, metricsPort] = [await freePort(), await freePort()];
  const s3 = infra.s3.config;
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
    cwd: PACKAGE_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      GRPC_PORT: String(grpcPort),
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...(database.url ? { DATABASE_URL: database.url } : { PGLITE_DIR: database.pgliteDir! }),
      S3_ENDPOINT: s3.endpoint ?? '',
      S3_REGION: s3.region,
      S3_BUCKET: s3.bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId ?? '',
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey ?? '',
      S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
      NATS_URL: infra.nats.url,
      EVENTS_STREAM: infra.nats.streamName,
      EVENTS_SUBJECT_PREFIX: infra.nats.subjectPrefix,
      DATASET_ADDR: infra.datasetAddr,
      TRAINER_WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      const timer = setInterval(() => out.includes('trainer service ready') && (clearInterval(timer), resolve(true)), 100);
    }),
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 60_000)),
  ]);
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`trainer process did not start:\n${out.slice(-3000)}`);
  }
  const channel = createGrpcChannel(`127.0.0.1:${grpcPort}`);
  return {
    child,
    client: createGrpcClient(trainingV1.TrainerServiceDefinition, channel),
    exited,
    output: () => out,
    close: () => {
      channel.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
