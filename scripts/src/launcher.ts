import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { grpcSecurityEnvSchema, isGrpcServing, loadGrpcSecurity, type GrpcSecurity } from '@labelloop/common';
import {
  EMBEDDED_S3_CREDENTIALS,
  type EmbeddedS3,
  findNatsServerBinary,
  freePort,
  NatsServerNotFoundError,
  type NatsServerProcess,
  startEmbeddedS3,
  startNatsServer,
} from '@labelloop/embedded';
import { aptInstall } from './apt-install.js';
import { ServiceProcess } from './service-process.js';

// Runs labelloop on one machine: embedded infrastructure (nats-server child, in-process S3, PGlite
// per service) unless NATS_URL / S3_ENDPOINT / DATABASE_URL point at real ones, then every service
// as its own process, as in a cluster. Used by `npm start` and by the end-to-end tests.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ADMIN_KEY_BANNER = /^labelloop admin API key \(shown once\): (\S+)$/;

export interface LaunchOptions {
  /** Where PGlite, S3 objects, the NATS store and logs live. */
  dataDir: string;
  /** Environment the services inherit (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Gateway HTTP port; 0 picks a free one. */
  gatewayPort?: number;
  /** Pick free ports for the internal gRPC and metrics ports too (tests running side by side). */
  freeInternalPorts?: boolean;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

export interface Labelloop {
  readonly gatewayUrl: string;
  /** The admin key when the gateway generated one during this start. */
  readonly adminKey?: string;
  readonly natsUrl: string;
  readonly s3Endpoint: string;
  /** The token every gRPC port requires (INTERNAL_TOKEN from the environment, or made for this start). */
  readonly internalToken: string;
  /** 127.0.0.1:<port> of each gRPC service. */
  readonly grpcAddresses: { dataset: string; trainer: string; inference: string };
  readonly services: ReadonlyMap<string, ServiceProcess>;
  readonly nats?: NatsServerProcess;
  readonly s3?: EmbeddedS3;
  stop(): Promise<void>;
}

interface ServiceSpec {
  name: string;
  entry: string;
  env: Record<string, string>;
}

async function startNats(dataDir: string, log: (line: string) => void): Promise<NatsServerProcess> {
  if (!findNatsServerBinary() && !aptInstall('nats-server', log)) throw new NatsServerNotFoundError();
  return startNatsServer({ dataDir: join(dataDir, 'nats') });
}

/** Polls `isReady` until it says yes; throws when a service exited or the deadline passed. */
async function waitUntil(what: string, isReady: () => Promise<boolean>, deadline: number, failed: () => string | undefined): Promise<void> {
  for (;;) {
    const failure = failed();
    if (failure) throw new Error(failure);
    if (await isReady()) return;
    if (Date.now() > deadline) throw new Error(`labelloop did not become ready in time: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false; // not listening yet
  }
}

/** The TLS the services' gRPC ports speak (GRPC_TLS_*); a broken setting is the services' error to report. */
function launcherGrpcSecurity(env: NodeJS.ProcessEnv): GrpcSecurity | undefined {
  const parsed = grpcSecurityEnvSchema.safeParse(env);
  if (!parsed.success) return undefined;
  try {
    return { tls: loadGrpcSecurity(parsed.data).tls };
  } catch {
    return undefined;
  }
}

export async function startLabelloop(options: LaunchOptions): Promise<Labelloop> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };

  try {
    let nats: NatsServerProcess | undefined;
    let natsUrl = env.NATS_URL;
    if (!natsUrl) {
      nats = await startNats(dataDir, log);
      natsUrl = nats.url;
      cleanups.push(() => nats!.stop());
    }

    let s3: EmbeddedS3 | undefined;
    const s3Env: Record<string, string> = {};
    if (!env.S3_ENDPOINT) {
      const bucket = env.S3_BUCKET ?? 'labelloop';
      s3 = await startEmbeddedS3({ dir: join(dataDir, 's3'), buckets: [bucket] });
      cleanups.push(() => s3!.close());
      Object.assign(s3Env, {
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: bucket,
        S3_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
        S3_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      });
    }

    const port = async (fixed: number) => (options.freeInternalPorts ? freePort() : fixed);
    const gatewayPort = options.gatewayPort === 0 ? await freePort() : (options.gatewayPort ?? Number(env.PORT ?? 8080));
    const datasetGrpcPort = await port(50051);
    const trainerGrpcPort = await port(50052);
    const inferenceGrpcPort = await port(50053);
    const pglite = (service: string): Record<string, string> =>
      env.DATABASE_URL ? {} : { PGLITE_DIR: join(dataDir, 'pg', service) };
    // The gRPC ports accept only the services of this start: a fresh random token each time.
    const internalToken = env.INTERNAL_TOKEN || randomBytes(32).toString('base64url');

    const specs: ServiceSpec[] = [
      {
        name: 'dataset',
        entry: 'services/dataset/dist/main.js',
        env: {
          GRPC_PORT: String(datasetGrpcPort),
          METRICS_PORT: String(await port(9464)),
          INTERNAL_TOKEN: internalToken,
          NATS_URL: natsUrl,
          ...s3Env,
          ...pglite('dataset'),
        },
      },
      {
        name: 'trainer',
        entry: 'services/trainer/dist/main.js',
        env: {
          GRPC_PORT: String(trainerGrpcPort),
          METRICS_PORT: String(await port(9465)),
          INTERNAL_TOKEN: internalToken,
          DATASET_ADDR: `127.0.0.1:${datasetGrpcPort}`,
          NATS_URL: natsUrl,
          ...s3Env,
          ...pglite('trainer'),
        },
      },
      {
        name: 'inference',
        entry: 'services/inference/dist/main.js',
        env: {
          GRPC_PORT: String(inferenceGrpcPort),
          METRICS_PORT: String(await port(9466)),
          INTERNAL_TOKEN: internalToken,
          DATASET_ADDR: `127.0.0.1:${datasetGrpcPort}`,
          TRAINER_ADDR: `127.0.0.1:${trainerGrpcPort}`,
          NATS_URL: natsUrl,
          ...s3Env,
        },
      },
      {
        name: 'gateway',
        entry: 'services/gateway/dist/main.js',
        env: {
          PORT: String(gatewayPort),
          INTERNAL_TOKEN: internalToken,
          DATASET_ADDR: `127.0.0.1:${datasetGrpcPort}`,
          TRAINER_ADDR: `127.0.0.1:${trainerGrpcPort}`,
          INFERENCE_ADDR: `127.0.0.1:${inferenceGrpcPort}`,
          ...pglite('gateway'),
        },
      },
    ];

    let adminKey: string | undefined;
    let exited: string | undefined;
    const services = new Map<string, ServiceProcess>();
    for (const spec of specs) {
      const service = new ServiceProcess({
        name: spec.name,
        entry: join(repoRoot, spec.entry),
        env: { ...env, ...spec.env },
        // e.g. LABELLOOP_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile every service.
        nodeArgs: env.LABELLOOP_NODE_ARGS ? env.LABELLOOP_NODE_ARGS.split(' ').filter(Boolean) : [],
        logFile: join(dataDir, 'logs', `${spec.name}.log`),
        onPlainLine: (line) => {
          const match = ADMIN_KEY_BANNER.exec(line);
          if (!match) return log(`[${spec.name}] ${line}`);
          adminKey = match[1];
          return 'secret';
        },
        onExit: (code, signal) => {
          exited = `${spec.name} exited (code ${code}, signal ${signal}); its last log lines:\n${service.logTail()}`;
          log(exited);
        },
      });
      service.start();
      services.set(spec.name, service);
      cleanups.push(() => service.stop());
    }

    // Ready means every service is: the gateway's /readyz (it needs only the dataset service, as in
    // a cluster), then each gRPC service SERVING — inference last to get there (models, workers).
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const grpcAddresses = {
      dataset: `127.0.0.1:${datasetGrpcPort}`,
      trainer: `127.0.0.1:${trainerGrpcPort}`,
      inference: `127.0.0.1:${inferenceGrpcPort}`,
    };
    const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
    await waitUntil(`${gatewayUrl}/readyz`, () => answersOk(`${gatewayUrl}/readyz`), deadline, () => exited);
    const security = launcherGrpcSecurity(env);
    for (const [name, address] of Object.entries(grpcAddresses)) {
      await waitUntil(`${name} gRPC SERVING at ${address}`, () => isGrpcServing(address, { security }), deadline, () => exited);
    }
    return {
      gatewayUrl,
      adminKey,
      natsUrl,
      s3Endpoint: s3?.endpoint ?? env.S3_ENDPOINT!,
      internalToken,
      grpcAddresses,
      services,
      nats,
      s3,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
