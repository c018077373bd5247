#!/usr/bin/env node
// `npm test`: build (the end-to-end tests run the built services), typecheck, then every
// workspace's tests through turbo — --force so results are never replayed from cache, one package
// at a time because the suites start their own servers on a 2-core machine, and --continue so one
// failing package does not hide the others. Ends with the failing tests, each with its error (CI shows
// only the tail of the output), and one summary line.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: '0' };
const turbo = join(root, 'node_modules/.bin/turbo');
const extra = process.argv.slice(2); // e.g. --filter=@labelloop/dataset

for (const task of ['build', 'typecheck']) {
  const result = spawnSync(turbo, ['run', task, '--output-logs=errors-only', ...extra], { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`npm test: ${task} failed`);
    process.exit(result.status ?? 1);
  }
}

let passed = 0;
let failed = 0;
// Each `not ok` line and the YAML block under it (error, expected, actual, location), by task prefix.
const failures = [];
let current = null;
const child = spawn(turbo, ['run', 'test', '--force', '--continue', '--concurrency=1', '--output-logs=full', ...extra], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let pending = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (data) => {
  process.stdout.write(data);
  pending += data;
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    if (/^\S+:test: +not ok \d+ - /.test(line)) {
      current = [line];
      failures.push(current);
    } else if (current) {
      current.push(line);
      if (/^\S+:test: +\.\.\.\s*$/.test(line) || current.length > 40) current = null;
    }
    const match = /# (pass|fail) (\d+)\s*$/.exec(line);
    if (match) {
      if (match[1] === 'pass') passed += Number(match[2]);
      else failed += Number(match[2]);
    }
  }
});
child.on('exit', (code) => {
  if (failures.length > 0) {
    console.log(`\nfailing tests (${failures.length} not ok lines, suites included):`);
    for (const block of failures) console.log(block.join('\n'));
  }
  console.log(`\ntests: ${passed} passed, ${failed} failed`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
