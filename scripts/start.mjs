#!/usr/bin/env node
// `npm start`: build what changed (turbo caches the rest), then run labelloop with embedded defaults.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
console.log('labelloop: building (cached after the first time) ...');
const turbo = join(root, 'node_modules/.bin/turbo');
const build = spawnSync(turbo, ['run', 'build', '--output-logs=errors-only'], { cwd: root, env, encoding: 'utf8' });
if (build.status !== 0) {
  process.stdout.write(build.stdout ?? '');
  process.stderr.write(build.stderr ?? '');
  console.error('labelloop: the build failed (see above)');
  process.exit(build.status ?? 1);
}
await import('./dist/start.js');
