// The real entrypoint as a process: it prints a generated admin key once (a second start
// on the same database prints nothing), serves, and shuts down cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, makeTempDir, type TempDir, type TestDatabase } from '@labelloop/testing';

const BANNER = 'labelloop admin API key (shown once): ';
const packageDir = fileURLToPath(new URL('..', import.meta.url));

let database: TestDatabase | undefined;
let dir: TempDir | undefined;
const env: Record<string, string> = {};

before(async () => {
  if (process.env.DATABASE_URL) {
    database = await createTestDatabase();
    env.DATABASE_URL = database.url!;
  } else {
    dir = makeTempDir('gateway-main');
    env.PGLITE_DIR = dir.path;
  }
});
after(async () => {
  await database?.close();
  dir?.remove();
});

interface Started {
  port: number;
  /** Every stdout line up to 'gateway listening'. */
  lines: string[];
  stop(): Promise<{ code: number | null; lines: string[] }>;
}

async function startGateway(): Promise<Started> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
    cwd: packageDir,
    env: {
      ...process.env,
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      // Nothing listens there: the gateway must start anyway and report not ready.
      DATASET_ADDR: '127.0.0.1:9',
      LOG_LEVEL: 'info',
      LABELLOOP_ADMIN_KEY: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const reader = createInterface({ input: child.stdout! });
  let resolvePort: (port: number) => void;
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    void exited.then(([code]) => reject(new Error(`gateway exited with ${code} before listening: ${lines.join('\n')}`)));
  });
  reader.on('line', (line) => {
    lines.push(line);
    if (line.startsWith('{')) {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'gateway listening') resolvePort(entry.port!);
    }
  });
  return {
    port: await port,
    lines,
    stop: async () => {
      child.kill('SIGTERM');
      const [code] = await exited;
      return { code, lines };
    },
  };
}

test('first start prints the admin key once; the second prints nothing; SIGTERM exits 0', async () => {
  const first = await startGateway();
  const banners = first.lines.filter((line) => line.startsWith(BANNER));
  assert.equal(banners.length, 1, first.lines.join('\n'));
  const key = banners[0]!.slice(BANNER.length);
  assert.match(key, /^llk_[A-Za-z0-9_-]{43}$/);

  const base = `http://127.0.0.1:${first.port}`;
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(ready.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const keys = await fetch(`${base}/v1/api-keys`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(keys.status, 200);
  const unavailable = await fetch(`${base}/v1/datasets`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.headers.get('retry-after'), '5');

  const stopped = await first.stop();
  assert.equal(stopped.code, 0);
  // The key appears on the banner line only: never in a log line.
  assert.deepEqual(
    stopped.lines.filter((line) => line.includes(key)),
    [banners[0]],
  );

  const second = await startGateway();
  const { code, lines } = await second.stop();
  assert.equal(code, 0);
  assert.deepEqual(
    lines.filter((line) => line.includes(BANNER.trim())),
    [],
  );
});
