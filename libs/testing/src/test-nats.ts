import { startNatsServer } from '@labelloop/embedded';
import { makeTempDir, uniqueSuffix } from './temp-dir.js';

export interface TestNats {
  readonly url: string;
  /** Unique per call, so tests sharing one NATS (NATS_URL) do not see each other's events. */
  readonly streamName: string;
  readonly subjectPrefix: string;
  /** True when this fixture owns the server (it can be stopped and restarted). */
  readonly owned: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A NATS server with JetStream for a test: NATS_URL when set (unless `own` is asked for, as fault
 * drills need a server they may stop), else a private nats-server on a free port.
 */
export async function startTestNats(options: { own?: boolean } = {}): Promise<TestNats> {
  const suffix = uniqueSuffix();
  const names = { streamName: `T_${suffix.toUpperCase()}`, subjectPrefix: `t${suffix}` };
  const shared = process.env.NATS_URL;
  if (shared && !options.own) {
    const refuse = async () => {
      throw new Error('this test NATS is shared (NATS_URL); ask startTestNats({ own: true }) to stop it');
    };
    return { url: shared, ...names, owned: false, stop: refuse, start: refuse, close: async () => {} };
  }
  const dir = makeTempDir('nats');
  const server = await startNatsServer({ dataDir: dir.path });
  return {
    url: server.url,
    ...names,
    owned: true,
    stop: () => server.stop(),
    start: () => server.start(),
    close: async () => {
      await server.kill();
      dir.remove();
    },
  };
}
