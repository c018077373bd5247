import { type Labelloop, startLabelloop } from '@labelloop/scripts';
import { makeTempDir } from '@labelloop/testing';
import { Api } from './api.js';

export interface RunningSystem {
  labelloop: Labelloop;
  admin: Api;
  anonymous: Api;
  /** Where PGlite, S3 objects, the NATS store and the services' logs (logs/<service>.log) live. */
  dataDir: string;
  close(): Promise<void>;
}

export interface SystemOptions {
  /** Variables for every service on top of the embedded defaults (e.g. smaller limits, DATABASE_URL). */
  env?: Record<string, string>;
}

/**
 * The whole system as `npm start` runs it on a fresh machine: built services as separate processes,
 * embedded defaults (PGlite, in-process S3, own nats-server) whatever the environment says, free ports.
 */
export async function startSystem(options: SystemOptions = {}): Promise<RunningSystem> {
  const dir = makeTempDir('e2e');
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'NATS_URL', 'S3_ENDPOINT', 'LABELLOOP_ADMIN_KEY', 'PORT', 'INTERNAL_TOKEN']) delete env[name];
  Object.assign(env, options.env);
  const labelloop = await startLabelloop({ dataDir: dir.path, env, gatewayPort: 0, freeInternalPorts: true });
  if (!labelloop.adminKey) throw new Error('a fresh start must print an admin key');
  const anonymous = new Api(labelloop.gatewayUrl);
  return {
    labelloop,
    admin: anonymous.withKey(labelloop.adminKey),
    anonymous,
    dataDir: dir.path,
    close: async () => {
      await labelloop.stop();
      dir.remove();
    },
  };
}
