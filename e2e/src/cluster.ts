import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EMBEDDED_S3_CREDENTIALS,
  type EmbeddedS3,
  freePort,
  type NatsServerProcess,
  startEmbeddedS3,
  startNatsServer,
} from '@labelloop/embedded';
import { S3BlobStore } from '@labelloop/storage';
import { makeTempDir, type TempDir } from '@labelloop/testing';
import { Api } from './api.js';
import { EventLedger } from './event-ledger.js';
import { createDrillDatabase, type DrillDatabase } from './postgres.js';
import { TcpBalancer } from './tcp-balancer.js';

// A labelloop cluster for fault drills: every service's built dist/main.js as its own child process
// with an explicit environment (several trainers or inference replicas if asked), against a real
// nats-server (stoppable, same port and JetStream folder on restart), a real PostgreSQL (a private
// server that can be restarted where the binaries exist) and S3 (in-process s3rver, stoppable).
// Nothing is inherited from the environment but PATH, so a drill states every setting it depends on.

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BUCKET = 'labelloop';
export const ADMIN_KEY = 'drill-admin-key-0123456789abcdef';
/** The gRPC ports require it, as in a production cluster. */
const INTERNAL_TOKEN = 'drill-internal-token-0123456789abcdef';

export type ServiceKind = 'dataset' | 'trainer' | 'inference' | 'gateway';
export type Env = Record<string, string>;

const READY_MESSAGE: Record<ServiceKind, string> = {
  dataset: 'dataset service ready',
  trainer: 'trainer service ready',
  inference: 'inference service ready',
  gateway: 'gateway listening',
};

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One service process. Its ports stay the same across restarts, so the others find it again. */
export class ClusterService {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private expectingExit = false;
  private readonly lines: string[] = [];
  /** Exits nobody asked for (a crash), with the last log lines. */
  readonly unexpectedExits: string[] = [];

  constructor(
    readonly name: string,
    readonly kind: ServiceKind,
    readonly env: Env,
    private readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the process and resolves once it logs that it is ready. */
  async start(timeoutMs = 120_000): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    this.expectingExit = false;
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [join(repoRoot, 'services', this.kind, 'dist', 'main.js')], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const since = this.lines.length;
    let pending = '';
    const onData = (data: string) => {
      this.log?.write(data);
      pending += data;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        this.lines.push(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    };
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let exit: ExitInfo | undefined;
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      if (this.child === child) this.child = undefined;
      this.log?.end();
      if (!this.expectingExit) this.unexpectedExits.push(`${this.name} exited (code ${code}, signal ${signal}):\n${this.tail()}`);
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.lines.slice(since).some((line) => line.includes(`"msg":"${READY_MESSAGE[this.kind]}"`))) return;
      if (exit) throw new Error(`${this.name} exited during start (code ${exit.code}, signal ${exit.signal}):\n${this.tail()}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${this.name} did not become ready within ${timeoutMs} ms:\n${this.tail()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (graceful shutdown); resolves with how it exited. */
  async stop(timeoutMs = 60_000): Promise<ExitInfo> {
    return this.signal('SIGTERM', timeoutMs);
  }

  /** SIGKILL, as a crash or an OOM kill would. */
  async kill(): Promise<ExitInfo> {
    return this.signal('SIGKILL', 10_000);
  }

  /** Sends SIGTERM without waiting: the exit is awaited with `exited()`. */
  terminate(): Promise<ExitInfo> {
    return this.signal('SIGTERM', 60_000);
  }

  private async signal(signal: NodeJS.Signals, timeoutMs: number): Promise<ExitInfo> {
    const child = this.child;
    if (!child) throw new Error(`${this.name} is not running`);
    this.expectingExit = true;
    return new Promise<ExitInfo>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}:\n${this.tail()}`));
      }, timeoutMs);
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        resolvePromise({ code, signal: sig });
      });
      child.kill(signal);
    });
  }

  /** JSON log records (every start of this service), optionally only those with this msg. */
  records(msg?: string): Array<Record<string, any>> {
    const out: Array<Record<string, any>> = [];
    for (const line of this.lines) {
      if (!line.startsWith('{')) continue;
      if (msg !== undefined && !line.includes(`"msg":${JSON.stringify(msg)}`)) continue;
      try {
        const record = JSON.parse(line) as Record<string, any>;
        if (msg === undefined || record.msg === msg) out.push(record);
      } catch {
        // a partial line
      }
    }
    return out;
  }

  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }
}

export interface ClusterOptions {
  /** Trainer processes started with the cluster (default 1). */
  trainers?: number;
  /** Inference replicas started with the cluster (default 1). */
  inference?: number;
  /** The drill restarts PostgreSQL: it needs a private server. */
  restartablePostgres?: boolean;
  /** Extra settings per kind of service (and for all). */
  env?: Partial<Record<ServiceKind | 'all', Env>>;
}

/** Counts that must add up before and after a drill. */
export interface Account {
  /** Item rows. */
  items: number;
  /** Image objects in S3 (datasets/<id>/items/<sha256>). */
  objects: number;
  /** Item rows whose image object is missing (must always be 0). */
  itemsWithoutObject: number;
  /** Image objects no item row refers to (a failed upload that left its object behind). */
  objectsWithoutItem: number;
  /** Items holding a label. */
  labels: number;
  /** Label history rows. */
  labelHistory: number;
  /** Models in the registry. */
  models: number;
  /** Distinct events the ledger consumer received, by subject (progress events left out: their number depends on timing). */
  events: Record<string, number>;
  /** Events not yet published by an outbox relay. */
  outboxPending: number;
  /** Events in the services' event outboxes that the ledger has not received (yet). */
  undelivered: number;
}

export class Cluster {
  readonly services: ClusterService[] = [];
  readonly admin: Api;
  readonly blobs: S3BlobStore;
  private ports = new Map<string, number>();
  private balancers: TcpBalancer[] = [];
  private counters: Record<ServiceKind, number> = { dataset: 0, trainer: 0, inference: 0, gateway: 0 };

  private constructor(
    readonly dir: TempDir,
    readonly database: DrillDatabase,
    readonly nats: NatsServerProcess,
    readonly s3: EmbeddedS3,
    readonly ledger: EventLedger,
    readonly gatewayUrl: string,
    private readonly options: ClusterOptions,
    private readonly addresses: { dataset: string; trainer: string; inference: string; gatewayPort: number },
  ) {
    this.admin = new Api(gatewayUrl, ADMIN_KEY);
    this.blobs = new S3BlobStore({ endpoint: s3.endpoint, region: 'us-east-1', bucket: BUCKET, ...EMBEDDED_S3_CREDENTIALS, forcePathStyle: true });
  }

  /**
   * Starts the infrastructure and the services; undefined when no suitable PostgreSQL is available
   * (no server binaries and no DATABASE_URL, or a restart drill without the binaries).
   */
  static async start(options: ClusterOptions = {}): Promise<Cluster | undefined> {
    const database = await createDrillDatabase({ restartable: options.restartablePostgres });
    if (!database) return undefined;
    const dir = makeTempDir('drill');
    mkdirSync(join(dir.path, 'logs'));
    let nats: NatsServerProcess | undefined;
    let s3: EmbeddedS3;
    try {
      nats = await startNatsServer({ dataDir: join(dir.path, 'nats') });
      s3 = await startEmbeddedS3({ dir: join(dir.path, 's3'), buckets: [BUCKET] });
    } catch (err) {
      await nats?.kill();
      await database.close();
      dir.remove();
      throw err;
    }
    const [dataset, trainer, inference, gatewayPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const addresses = { dataset: `127.0.0.1:${dataset}`, trainer: `127.0.0.1:${trainer}`, inference: `127.0.0.1:${inference}`, gatewayPort };
    const ledger = new EventLedger(nats.url);
    const cluster = new Cluster(dir, database, nats, s3, ledger, `http://127.0.0.1:${gatewayPort}`, options, addresses);
    cluster.ports.set('dataset', dataset);
    try {
      // Trainers and inference replicas sit behind one address each, as behind a Kubernetes Service.
      for (const [kind, port] of [['trainer', trainer], ['inference', inference]] as const) {
        const balancer = new TcpBalancer(port, () =>
          cluster.services.filter((s) => s.kind === kind && s.running).map((s) => Number(s.env.GRPC_PORT)),
        );
        await balancer.start();
        cluster.balancers.push(balancer);
      }
      await cluster.add('dataset');
      // The dataset service has created the events stream: the ledger follows it from the start.
      await ledger.start();
      const others: Array<Promise<ClusterService>> = [];
      for (let i = 0; i < (options.trainers ?? 1); i++) others.push(cluster.add('trainer'));
      for (let i = 0; i < (options.inference ?? 1); i++) others.push(cluster.add('inference'));
      others.push(cluster.add('gateway'));
      await Promise.all(others);
      await cluster.waitReady();
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** The environment every service gets, before its own settings. */
  private baseEnv(): Env {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: this.database.url,
      DATABASE_POOL_SIZE: '5',
      NATS_URL: this.nats.url,
      S3_ENDPOINT: this.s3.endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: BUCKET,
      S3_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      DATASET_ADDR: this.addresses.dataset,
      TRAINER_ADDR: this.addresses.trainer,
      INFERENCE_ADDR: this.addresses.inference,
      INTERNAL_TOKEN,
      // The drill's own probes poll /readyz without a key: not an attacker.
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0',
      ...this.options.env?.all,
    };
  }

  private async port(name: string): Promise<number> {
    let port = this.ports.get(name);
    if (port === undefined) {
      port = await freePort();
      this.ports.set(name, port);
    }
    return port;
  }

  /**
   * Starts one more service process: the dataset service and the gateway on the addresses the others
   * are given, each trainer and inference replica on ports of its own behind its kind's balancer.
   */
  async add(kind: ServiceKind, env: Env = {}): Promise<ClusterService> {
    const index = ++this.counters[kind];
    const name = kind === 'dataset' || kind === 'gateway' ? kind : `${kind}-${index}`;
    const own: Env = {};
    if (kind === 'gateway') {
      own.PORT = String(this.addresses.gatewayPort);
      own.LABELLOOP_ADMIN_KEY = ADMIN_KEY;
    } else {
      own.GRPC_PORT = String(await this.port(name));
      own.METRICS_PORT = String(await this.port(`${name}-metrics`));
    }
    if (kind === 'trainer') own.TRAINER_WORKERS = '1';
    if (kind === 'inference') {
      own.INFERENCE_WORKERS = '1';
      own.WORKER_NAME = name;
    }
    const service = new ClusterService(name, kind, { ...this.baseEnv(), ...own, ...this.options.env?.[kind], ...env }, join(this.dir.path, 'logs', `${name}.log`));
    this.services.push(service);
    await service.start();
    return service;
  }

  service(name: string): ClusterService {
    const found = this.services.find((s) => s.name === name);
    if (!found) throw new Error(`no service ${name}`);
    return found;
  }

  get gateway(): ClusterService {
    return this.service('gateway');
  }

  get dataset(): ClusterService {
    return this.service('dataset');
  }

  /** Until the gateway's /readyz answers 200 (the dataset service SERVING, its database up). */
  async waitReady(timeoutMs = 60_000): Promise<number> {
    const started = Date.now();
    for (;;) {
      try {
        const response = await fetch(`${this.gatewayUrl}/readyz`, { signal: AbortSignal.timeout(3000) });
        await response.arrayBuffer();
        if (response.status === 200) return Date.now() - started;
      } catch {
        // not listening
      }
      if (Date.now() - started > timeoutMs) throw new Error(`the gateway was not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Every crash of any service so far (a drill asserts there was none it did not cause). */
  unexpectedExits(): string[] {
    return this.services.flatMap((s) => s.unexpectedExits);
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await this.database.pool.query<{ n: string }>(sql, params);
    return Number(rows[0]!.n);
  }

  async imageObjectKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const blob of this.blobs.list('datasets/')) if (blob.key.includes('/items/')) keys.add(blob.key);
    return keys;
  }

  async account(): Promise<Account> {
    const outboxTables = await this.database.pool.query<{ t: string }>(
      `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_name = 'outbox'`,
    );
    let outboxPending = 0;
    let undelivered = 0;
    for (const { t } of outboxTables.rows) {
      outboxPending += await this.count(`SELECT count(*) AS n FROM ${t} WHERE published_at IS NULL`);
      // The work queue's outbox feeds another stream; every other outbox row is an event the ledger must get.
      if (t.endsWith('_work.outbox')) continue;
      const ids = await this.database.pool.query<{ id: string }>(`SELECT id FROM ${t}`);
      undelivered += ids.rows.filter((row) => !this.ledger.deliveries.has(row.id)).length;
    }
    const objects = await this.imageObjectKeys();
    const { rows } = await this.database.pool.query<{ key: string }>(
      `SELECT 'datasets/' || dataset_id || '/items/' || sha256 AS key FROM dataset.items`,
    );
    const itemKeys = new Set(rows.map((r) => r.key));
    return {
      items: rows.length,
      objects: objects.size,
      itemsWithoutObject: [...itemKeys].filter((k) => !objects.has(k)).length,
      objectsWithoutItem: [...objects].filter((k) => !itemKeys.has(k)).length,
      labels: await this.count('SELECT count(*) AS n FROM dataset.items WHERE label IS NOT NULL'),
      labelHistory: await this.count('SELECT count(*) AS n FROM dataset.item_labels'),
      // The trainer creates its schema when it first starts; a drill may run without one.
      models: await this.count(`SELECT CASE WHEN to_regclass('training.models') IS NULL THEN 0 ELSE (SELECT count(*) FROM training.models) END AS n`).catch(() => 0),
      events: this.ledger.distinctBySubject((subject) => !subject.endsWith('.progress')),
      outboxPending,
      undelivered,
    };
  }

  /**
   * Polls the account until `settled` holds (events are delivered asynchronously), then returns it.
   * Throws with the last account when it never does.
   */
  async settledAccount(settled: (account: Account) => boolean, timeoutMs = 60_000): Promise<Account> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const account = await this.account().catch(() => undefined);
      if (account && settled(account)) return account;
      if (Date.now() > deadline) {
        throw new Error(`the account did not settle within ${timeoutMs} ms: ${JSON.stringify(account ?? (await this.account().catch((e) => String(e))))}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Every event published and received by the ledger, and `also` holds. */
  async delivered(also: (account: Account) => boolean = () => true, timeoutMs = 60_000): Promise<Account> {
    return this.settledAccount((a) => a.outboxPending === 0 && a.undelivered === 0 && also(a), timeoutMs);
  }

  async close(): Promise<void> {
    for (const service of [...this.services].reverse()) {
      if (service.running) await service.stop(30_000).catch(() => service.kill().catch(() => {}));
    }
    await this.ledger.stop().catch(() => {});
    for (const balancer of this.balancers) await balancer.close().catch(() => {});
    await this.blobs.close().catch(() => {});
    await this.s3.close().catch(() => {});
    await this.nats.kill().catch(() => {});
    await this.database.close().catch(() => {});
    if (!process.env.DRILL_KEEP) this.dir.remove();
  }
}

/** Adds per-subject deltas to an account's event counts (subjects given without the `labelloop.` prefix). */
export function expectEvents(before: Account['events'], deltas: Record<string, number>): Account['events'] {
  const out = { ...before };
  for (const [subject, n] of Object.entries(deltas)) {
    const key = `labelloop.${subject}`;
    out[key] = (out[key] ?? 0) + n;
    if (out[key] === 0) delete out[key];
  }
  return out;
}

/** One line for t.diagnostic. */
export function describeAccount(label: string, account: Account): string {
  const events = Object.entries(account.events)
    .sort()
    .map(([s, n]) => `${s.replace(/^labelloop\./, '')}=${n}`)
    .join(' ');
  return `${label}: items ${account.items}, objects ${account.objects} (items without object ${account.itemsWithoutObject}, objects without item ${account.objectsWithoutItem}), labels ${account.labels}, label history ${account.labelHistory}, models ${account.models}, outbox pending ${account.outboxPending}, undelivered ${account.undelivered}, events [${events}]`;
}
