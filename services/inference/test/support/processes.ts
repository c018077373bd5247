import { spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TestS3 } from '@labelloop/testing';

// Services as real processes (src/main.ts run from source), for the wiring of main.ts and SIGTERM.

export const INFERENCE_DIR = fileURLToPath(new URL('../..', import.meta.url));
/** services/trainer (its package entry is src/index.ts under the `source` condition). */
export const TRAINER_DIR = dirname(dirname(fileURLToPath(import.meta.resolve('@labelloop/trainer'))));

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

export function s3Env(s3: TestS3): Record<string, string> {
  const c = s3.config;
  return {
    S3_ENDPOINT: c.endpoint ?? '',
    S3_REGION: c.region,
    S3_BUCKET: c.bucket,
    S3_ACCESS_KEY_ID: c.accessKeyId ?? '',
    S3_SECRET_ACCESS_KEY: c.secretAccessKey ?? '',
    S3_FORCE_PATH_STYLE: String(c.forcePathStyle),
  };
}

export interface ServiceProcess {
  child: ChildProcess;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  output(): string;
  /** JSON log lines with this msg. */
  logs(msg: string): Record<string, unknown>[];
  kill(): void;
}

/** Spawns `<dir>/src/main.ts` and resolves once its log says `ready` (fails on exit or after 90 s). */
export async function spawnService(dir: string, env: Record<string, string>, ready: string): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const logs = (msg: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === msg);
  let timer: NodeJS.Timeout | undefined;
  const deadline = Date.now() + 90_000;
  const started = await Promise.race([
    new Promise<boolean>((resolve) => {
      timer = setInterval(() => {
        if (logs(ready).length > 0) resolve(true);
        else if (Date.now() > deadline) resolve(false);
      }, 100);
    }),
    exited.then(() => false),
  ]);
  clearInterval(timer);
  if (!started) {
    child.kill('SIGKILL');
    throw new Error(`${dir} did not start:\n${out.slice(-3000)}`);
  }
  return {
    child,
    exited,
    output: () => out,
    logs,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
