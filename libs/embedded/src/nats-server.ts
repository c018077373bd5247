import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port.js';

// A nats-server child process with JetStream on a local folder: the embedded default for events,
// and what tests use when NATS_URL is not set.

const INSTALL_HINT =
  'nats-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`), ' +
  'set NATS_SERVER_BIN to its path, or set NATS_URL to a running NATS server with JetStream.';

export class NatsServerNotFoundError extends Error {
  constructor() {
    super(INSTALL_HINT);
    this.name = 'NatsServerNotFoundError';
  }
}

/** Finds the nats-server binary: NATS_SERVER_BIN, then PATH, then Debian's /usr/sbin. */
export function findNatsServerBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.NATS_SERVER_BIN,
    ...(env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export interface NatsServerOptions {
  /** JetStream store directory. */
  dataDir: string;
  /** 0 (default) picks a free port; the same port is reused on restart. */
  port?: number;
  host?: string;
  binary?: string;
  /** Receives the server's log lines (it logs to stderr). */
  onLog?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface NatsServerProcess {
  readonly url: string;
  readonly port: number;
  /** Graceful stop (SIGTERM), waits for exit. */
  stop(): Promise<void>;
  /** SIGKILL, waits for exit. */
  kill(): Promise<void>;
  /** Starts again on the same port and store. */
  start(): Promise<void>;
  readonly running: boolean;
}

export async function startNatsServer(options: NatsServerOptions): Promise<NatsServerProcess> {
  const binary = options.binary ?? findNatsServerBinary();
  if (!binary) throw new NatsServerNotFoundError();
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  mkdirSync(options.dataDir, { recursive: true });
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child) return;
    // -a binds the client port to one address; without it nats-server listens on every interface.
    const proc = spawn(binary, ['-js', '-sd', options.dataDir, '-a', host, '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`nats-server did not become ready within ${options.startTimeoutMs ?? 15000} ms`));
      }, options.startTimeoutMs ?? 15000);
      let buffered = '';
      proc.stderr?.setEncoding('utf8');
      proc.stderr?.on('data', (data: string) => {
        buffered += data;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          options.onLog?.(line);
          if (line.includes('Server is ready')) {
            clearTimeout(timer);
            resolve();
          }
          newline = buffered.indexOf('\n');
        }
      });
      proc.once('exit', (code, signal) => {
        if (child === proc) child = undefined;
        clearTimeout(timer);
        reject(new Error(`nats-server exited during start (code ${code}, signal ${signal})`));
      });
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };

  await start();
  return {
    url: `nats://${host}:${port}`,
    port,
    start,
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    get running() {
      return child !== undefined;
    },
  };
}
