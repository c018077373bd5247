#!/usr/bin/env node
// labelloop-retrain: the scheduled retrain command (see retrain-command.ts and `--help`).
import { runRetrain } from './retrain-command.js';

const code = await runRetrain(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
// Exit now: keep-alive sockets of fetch would otherwise hold the process open for a while.
process.exit(code);
