import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { installShutdown } from '../src/index.js';
import { captureLogs } from './fixtures.js';

describe('installShutdown', () => {
  it('runs steps in order, keeps going after a failure, exits 0, and runs only once', async () => {
    const { logger, lines } = captureLogs();
    const ran: string[] = [];
    const exits: number[] = [];
    const handle = installShutdown({
      logger,
      timeoutMs: 2000,
      signals: [],
      exit: (code) => void exits.push(code),
      steps: [
        { name: 'health', run: async () => void ran.push('health') },
        {
          name: 'grpc',
          run: async () => {
            ran.push('grpc');
            throw new Error('server already closed');
          },
        },
        {
          name: 'database',
          run: async () => {
            await sleep(20);
            ran.push('database');
          },
        },
      ],
    });
    const first = handle.shutdown('SIGTERM');
    const second = handle.shutdown('SIGINT');
    await Promise.all([first, second]);
    assert.deepEqual(ran, ['health', 'grpc', 'database']);
    assert.deepEqual(exits, [0]);
    assert.ok(lines.some((l) => l.msg === 'shutdown step failed' && l.step === 'grpc' && l.level === 'error'));
    assert.ok(lines.some((l) => l.msg === 'shutdown already in progress'));
  });

  it('exits 1 when the overall timeout passes first', async () => {
    const { logger } = captureLogs();
    const exits: number[] = [];
    const handle = installShutdown({
      logger,
      timeoutMs: 50,
      signals: [],
      exit: (code) => void exits.push(code),
      steps: [{ name: 'stuck', run: () => sleep(300) }],
    });
    await handle.shutdown('test');
    assert.deepEqual(exits, [1]);
    await sleep(300);
    assert.deepEqual(exits, [1], 'the late step does not exit again');
  });

  it('starts on a signal', async () => {
    const { logger } = captureLogs();
    const exits: number[] = [];
    installShutdown({ logger, timeoutMs: 1000, signals: ['SIGUSR2'], exit: (code) => void exits.push(code), steps: [] });
    process.kill(process.pid, 'SIGUSR2');
    await sleep(50);
    assert.deepEqual(exits, [0]);
  });
});
