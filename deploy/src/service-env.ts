import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { servicesDir } from './paths.js';

// Which environment variables a service reads: its own loadConfig(env) from src/config.ts runs
// over a proxy of the environment that records every name looked up. No list is kept by hand,
// so a variable added to a service's config shows up here at once.

/** Services with a src/config.ts, by folder name. */
export function servicesWithConfig(): string[] {
  return readdirSync(servicesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(servicesDir, entry.name, 'src/config.ts')))
    .map((entry) => entry.name)
    .sort();
}

/** Values a service cannot start without; the proxy answers them so loadConfig runs to its end. */
const REQUIRED: Record<string, string> = { NATS_URL: 'nats://127.0.0.1:4222' };

export async function envReadBy(service: string): Promise<Set<string>> {
  const module = (await import(pathToFileURL(join(servicesDir, service, 'src/config.ts')).href)) as {
    loadConfig?: (env: Record<string, string | undefined>) => unknown;
  };
  if (typeof module.loadConfig !== 'function') throw new Error(`services/${service}/src/config.ts exports no loadConfig(env)`);
  const read = new Set<string>();
  const env = new Proxy({ ...REQUIRED } as Record<string, string | undefined>, {
    get(target, key, receiver) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.has(target, key);
    },
  });
  try {
    module.loadConfig(env);
  } catch (err) {
    throw new Error(`loadConfig of ${service} failed with only ${Object.keys(REQUIRED).join(', ')} set: ${(err as Error).message}`);
  }
  return read;
}
