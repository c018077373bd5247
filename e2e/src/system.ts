import { type Labelloop, startLabelloop } from '@labelloop/scripts';
import { makeTempDir } from '@labelloop/testing';
import { Api } from './api.js';

export interface RunningSystem {
  labelloop: Labelloop;
  admin: Api;
  anonymous: Api;
  close(): Promise<void>;
}

/**
 * The whole system as `npm start` runs it on a fresh machine: built services as separate processes,
 * embedded defaults (PGlite, in-process S3, own nats-server) whatever the environment says, free ports.
 */
export async function startSystem(): Promise<RunningSystem> {
  const dir = makeTempDir('e2e');
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'NATS_URL', 'S3_ENDPOINT', 'LABELLOOP_ADMIN_KEY', 'PORT']) delete env[name];
  const labelloop = await startLabelloop({ dataDir: dir.path, env, gatewayPort: 0, freeInternalPorts: true });
  if (!labelloop.adminKey) throw new Error('a fresh start must print an admin key');
  const anonymous = new Api(labelloop.gatewayUrl);
  return {
    labelloop,
    admin: anonymous.withKey(labelloop.adminKey),
    anonymous,
    close: async () => {
      await labelloop.stop();
      dir.remove();
    },
  };
}
