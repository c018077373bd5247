import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@labelloop/embedded';
import { makeTempDir, uniqueSuffix, type TempDir } from '@labelloop/testing';
import pg from 'pg';

// PostgreSQL for the fault drills. A private cluster (initdb into a temp folder, `postgres` on a
// free port) can be stopped and started again on the same port and data folder, which a drill that
// restarts the database needs. Where the server binaries are missing, a fresh database on the
// machine's server (DATABASE_URL) serves the drills that never restart it.

export interface DrillDatabase {
  /** postgres:// URL of the database the services share (each in its own schema). */
  readonly url: string;
  /** Set when the server is this fixture's own and may be restarted. */
  readonly server?: PrivatePostgres;
  /** A small pool for the drill's own account queries. */
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export interface PrivatePostgres {
  readonly port: number;
  readonly running: boolean;
  /** Fast shutdown (SIGINT: open connections are terminated), waits for the exit. */
  stop(): Promise<void>;
  /** Starts again on the same port and data folder; resolves once it accepts connections. */
  start(): Promise<void>;
  /** The server's own log lines (stderr), newest last. */
  log(): string[];
  close(): Promise<void>;
}

/** The newest PostgreSQL server binaries on this machine (PG_BIN wins), if any. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PG_BIN) return existsSync(join(env.PG_BIN, 'postgres')) ? env.PG_BIN : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** PostgreSQL refuses to run as root: as root, the server runs as the `postgres` OS user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const [uid, gid] = [id('-u'), id('-g')];
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root needs a `postgres` OS user to run PostgreSQL as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function waitForServer(url: string, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = exited();
    if (failure) throw new Error(failure);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      // starting up
    } finally {
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** initdb into a temp folder and start `postgres` on a free port (127.0.0.1 only, trust auth). */
export async function startPrivatePostgres(bin: string): Promise<PrivatePostgres> {
  const dir: TempDir = makeTempDir('drill-pg');
  const user = serverUser();
  const dataDir = join(dir.path, 'data');
  const socketDir = join(dir.path, 'socket');
  mkdirSync(socketDir);
  if (user) {
    chownSync(dir.path, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  const init = spawnSync(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], {
    encoding: 'utf8',
    ...user,
  });
  if (init.status !== 0) {
    dir.remove();
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  const lines: string[] = [];

  const start = async (): Promise<void> => {
    if (child) return;
    // Durability settings off: the drills restart the server cleanly, never the machine.
    const proc = spawn(
      join(bin, 'postgres'),
      ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
        '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
      { stdio: ['ignore', 'ignore', 'pipe'], ...user },
    );
    child = proc;
    let exitReason: string | undefined;
    proc.once('exit', (code, signal) => {
      exitReason = `postgres exited (code ${code}, signal ${signal}): ${lines.slice(-5).join(' | ')}`;
      if (child === proc) child = undefined;
    });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (data: string) => {
      for (const line of data.split('\n')) if (line) lines.push(line);
      if (lines.length > 500) lines.splice(0, lines.length - 500);
    });
    await waitForServer(url, 30_000, () => exitReason);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGINT');
    });
  };

  await start();
  return {
    port,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    log: () => [...lines],
    close: async () => {
      await stop();
      dir.remove();
    },
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * The database a drill's services share: on a private server when the binaries are here (always,
 * when `restartable` is asked for), else a fresh database on DATABASE_URL's server. Undefined when
 * neither is possible; the drill then says so and skips.
 */
export async function createDrillDatabase(options: { restartable?: boolean } = {}): Promise<DrillDatabase | undefined> {
  const bin = findPostgresBin();
  let server: PrivatePostgres | undefined;
  let serverUrl: string;
  if (bin) {
    server = await startPrivatePostgres(bin);
    serverUrl = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
  } else if (!options.restartable && process.env.DATABASE_URL) {
    serverUrl = process.env.DATABASE_URL;
  } else {
    return undefined;
  }
  const name = `labelloop_drill_${uniqueSuffix()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 5000 });
  // The drill restarts the server under this pool: a dropped idle client must not crash the test.
  pool.on('error', () => {});
  return {
    url,
    server,
    pool,
    close: async () => {
      await pool.end().catch(() => {});
      if (server) {
        await server.close();
        return;
      }
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
