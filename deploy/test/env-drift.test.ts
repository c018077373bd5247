// The chart's environment mapping against what each service really reads: every variable a
// service's config.ts reads must be settable through the chart, and every variable the chart sets
// must be one the service reads. Fails as soon as either side changes without the other.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chartValues, configKeys, containerEnvNames, podSpec } from '../src/chart-values.js';
import { findObject, helmTemplate } from '../src/helm.js';
import { servicesDir } from '../src/paths.js';
import { envReadBy, servicesWithConfig } from '../src/service-env.js';

/** Read by services but deliberately never set in a cluster, and why. */
const NOT_SET_IN_CLUSTER: Record<string, string> = {
  PGLITE_DIR: 'the embedded PGlite database is for one machine; in a cluster every service gets DATABASE_URL',
};

const chartServices = Object.keys(chartValues().services).sort();
const sourceServices = servicesWithConfig();

test('the chart renders exactly the services that have a config.ts', () => {
  assert.deepEqual(chartServices, sourceServices, 'services in values.yaml vs services/*/src/config.ts');
});

// Every optional setting on, every config key set to its schema example: the chart's full mapping.
const fullRender = () => {
  const services: Record<string, unknown> = {};
  for (const name of chartServices) services[name] = { config: Object.fromEntries(configKeys(name)) };
  return helmTemplate({
    set: {
      services,
      adminKey: { existingSecret: 'admin' },
      grpcTls: { existingSecret: 'grpc-tls' },
      s3: { forcePathStyle: true },
    },
  });
};

describe('environment of each service: config.ts vs the chart', () => {
  const objects = fullRender();
  for (const service of sourceServices) {
    test(service, async () => {
      const read = await envReadBy(service);
      assert.ok(read.has('GRPC_PORT') || read.has('PORT'), `${service}: loadConfig read no port (${[...read].join(', ')})`);
      for (const [key, example] of configKeys(service)) {
        assert.notEqual(example, undefined, `values.schema.json: services.${service}.config.${key} needs an example`);
      }
      const deployment = findObject(objects, 'Deployment', `labelloop-${service}`);
      const rendered = containerEnvNames(deployment);
      const duplicates = rendered.filter((name, i) => rendered.indexOf(name) !== i);
      assert.deepEqual(duplicates, [], `${service}: variables set twice`);

      const chart = new Set(rendered);
      const notSettable = [...read].filter((name) => !chart.has(name) && !(name in NOT_SET_IN_CLUSTER)).sort();
      const notRead = [...chart].filter((name) => !read.has(name)).sort();
      assert.deepEqual(
        notSettable,
        [],
        `${service} reads ${notSettable.join(', ')} but the chart cannot set them: add camelCase keys to ` +
          `definitions.${service}Config in helm/labelloop/values.schema.json (or map them in templates/_helpers.tpl)`,
      );
      assert.deepEqual(
        notRead,
        [],
        `the chart sets ${notRead.join(', ')} for ${service}, which its config.ts does not read: remove them from values.schema.json / values.yaml`,
      );
    });
  }
});

test('a config key the service does not read is refused by the schema', () => {
  assert.throws(
    () => helmTemplate({ set: { services: { dataset: { config: { trainerWorkers: 2 } } } } }),
    /trainerWorkers|Additional property/,
  );
});

test('the retrain CronJob passes the retrain command only options and variables it reads', async () => {
  const { runRetrain, USAGE } = (await import(pathToFileURL(join(servicesDir, 'gateway/src/cli/retrain-command.ts')).href)) as {
    runRetrain: (argv: string[], io: { env: Record<string, string | undefined>; out: (l: string) => void; err: (l: string) => void }) => Promise<number>;
    USAGE: string;
  };
  const read = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(target, key, receiver) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
  // Without an API key it stops at usage (exit 2) after reading its environment, before any request.
  assert.equal(await runRetrain(['--dataset', 'x'], { env, out: () => {}, err: () => {} }), 2);

  const objects = helmTemplate({ set: { retrain: { enabled: true, apiKeySecret: { name: 'key' }, datasets: [{ id: 'x' }] } } });
  const cronJob = objects.find((o) => o.kind === 'CronJob');
  assert.ok(cronJob);
  for (const name of containerEnvNames(cronJob)) assert.ok(read.has(name), `the CronJob sets ${name}, which labelloop-retrain does not read`);
  const container = podSpec(cronJob)!.containers[0] as unknown as { args: string[] };
  for (const flag of container.args.filter((arg) => arg.startsWith('--'))) assert.ok(USAGE.includes(flag), `labelloop-retrain has no ${flag}`);
});
