// helm/labelloop: `helm lint --strict` with every ci/*-values.yaml, `helm template` for each of
// them and for default, production and GPU values, every rendered object validated against the
// Kubernetes API schemas (unknown fields rejected), and what each render must hold.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { chartValues, podSpec } from '../src/chart-values.js';
import { findObject, helmLint, helmTemplate, helmTemplateText, type K8sObject } from '../src/helm.js';
import { chartDir } from '../src/paths.js';
import { dashboardPath, rulesPath } from '../src/promql.js';
import { validateObjects } from '../src/validate-objects.js';

const ciValues = readdirSync(join(chartDir, 'ci'))
  .filter((file) => file.endsWith('-values.yaml'))
  .sort()
  .map((file) => `ci/${file}`);
const services = Object.keys(chartValues().services).sort();
const GRPC_PORTS: Record<string, number> = { dataset: 50051, trainer: 50052, inference: 50053 };

const renders: Record<string, string[]> = {
  default: [],
  production: ['ci/production-values.yaml'],
  'production + GPU': ['ci/production-values.yaml', 'ci/gpu-values.yaml'],
  ...Object.fromEntries(ciValues.map((file) => [file, [file]])),
};
const rendered = new Map<string, K8sObject[]>();
const render = (name: string) => {
  if (!rendered.has(name)) rendered.set(name, helmTemplate({ valuesFiles: renders[name] }));
  return rendered.get(name)!;
};

type Container = {
  name: string;
  image: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  securityContext?: Record<string, any>;
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  readinessProbe?: Record<string, any>;
  livenessProbe?: Record<string, any>;
  startupProbe?: Record<string, any>;
};
const containersOf = (object: K8sObject) => (podSpec(object)?.containers ?? []) as Container[];
const workloads = (objects: K8sObject[]) =>
  objects.filter((o) => ['Deployment', 'StatefulSet', 'CronJob', 'Pod', 'Job'].includes(o.kind));

test('the chart knows the four services', () => {
  assert.deepEqual(services, ['dataset', 'gateway', 'inference', 'trainer']);
  assert.ok(ciValues.length >= 3, `ci/*-values.yaml: ${ciValues.join(', ')}`);
});

describe('helm lint --strict', () => {
  for (const file of ciValues) {
    test(file, () => {
      const result = helmLint(file);
      assert.ok(result.ok, result.output);
      assert.match(result.output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      // Lint mode turns the templates' `fail` into an INFO line instead of failing.
      assert.doesNotMatch(result.output, /\] Fail:/);
    });
  }
});

describe('helm template: every object valid against the Kubernetes API schemas, no unknown field', () => {
  for (const name of Object.keys(renders)) {
    test(name, () => {
      const objects = render(name);
      assert.ok(objects.length > 10, `${name}: only ${objects.length} objects`);
      assert.deepEqual(validateObjects(objects), []);
      const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      assert.deepEqual(keys.filter((key, i) => keys.indexOf(key) !== i), [], 'objects rendered twice');
    });
  }
});

describe('every workload', () => {
  for (const name of Object.keys(renders)) {
    test(`${name}: non-root, read-only root filesystem, no privilege escalation, ALL capabilities dropped, pinned images`, () => {
      for (const workload of workloads(render(name))) {
        const spec = podSpec(workload) as unknown as { securityContext?: Record<string, any> };
        for (const container of containersOf(workload)) {
          const where = `${workload.kind}/${workload.metadata.name} ${container.name}`;
          const context = container.securityContext ?? {};
          assert.equal(context.runAsNonRoot ?? spec.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
          assert.equal(context.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
          assert.equal(context.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
          assert.deepEqual(context.capabilities?.drop, ['ALL'], `${where}: capabilities.drop`);
          assert.match(container.image, /:[^:/@]+(@sha256:[0-9a-f]{64})?$/, `${where}: image ${container.image} has no tag`);
          assert.doesNotMatch(container.image, /:latest$/, `${where}: image ${container.image}`);
        }
      }
    });

    test(`${name}: credentials come from Secrets, never from values`, () => {
      for (const workload of workloads(render(name))) {
        for (const container of containersOf(workload)) {
          for (const variable of container.env ?? []) {
            if (!/PASSWORD|SECRET|_KEY|DATABASE_URL|NATS_URL/.test(variable.name)) continue;
            assert.ok(
              variable.valueFrom?.secretKeyRef && variable.value === undefined,
              `${workload.kind}/${workload.metadata.name}: ${variable.name} must be a secretKeyRef`,
            );
          }
        }
      }
    });
  }
});

describe('per service', () => {
  const objects = render('default');
  for (const service of services) {
    test(service, () => {
      const name = `labelloop-${service}`;
      for (const kind of ['ServiceAccount', 'Service', 'Deployment', 'PodDisruptionBudget', 'NetworkPolicy']) findObject(objects, kind, name);
      const deployment = findObject(objects, 'Deployment', name);
      const spec = podSpec(deployment) as unknown as { serviceAccountName: string; automountServiceAccountToken: boolean };
      assert.equal(spec.serviceAccountName, name);
      assert.equal(spec.automountServiceAccountToken, false);
      const [container] = containersOf(deployment);
      assert.ok(container);
      if (service === 'gateway') {
        assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
        assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
      } else {
        // Native gRPC probes against grpc.health.v1 on the service's own port.
        assert.deepEqual(container.readinessProbe?.grpc, { port: GRPC_PORTS[service] });
        assert.deepEqual(container.startupProbe?.grpc, { port: GRPC_PORTS[service] });
        assert.ok(container.livenessProbe?.tcpSocket, 'liveness must not restart pods while a dependency is down');
      }
      const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === name);
      assert.equal(Boolean(hpa), service === 'inference' || service === 'gateway', `${service}: HorizontalPodAutoscaler`);
      if (hpa) assert.equal((deployment.spec as { replicas?: number }).replicas, undefined, 'replicas belong to the HPA');
    });
  }

  test('NetworkPolicies: deny-all for the release, each gRPC API open only to its callers', () => {
    const denyAll = findObject(objects, 'NetworkPolicy', 'labelloop-deny-all').spec as Record<string, unknown>;
    assert.deepEqual(denyAll.policyTypes, ['Ingress', 'Egress']);
    assert.equal(denyAll.ingress, undefined);
    assert.equal(denyAll.egress, undefined);
    const callers = (service: string) => {
      const policy = findObject(objects, 'NetworkPolicy', `labelloop-${service}`).spec as {
        ingress: Array<{ ports: Array<{ port: string }>; from?: Array<{ podSelector?: { matchLabels: Record<string, string> } }> }>;
      };
      const grpc = policy.ingress.find((rule) => rule.ports.some((p) => p.port === 'grpc'));
      return (grpc?.from ?? []).map((peer) => peer.podSelector?.matchLabels['app.kubernetes.io/component']).sort();
    };
    assert.deepEqual(callers('dataset'), ['gateway', 'inference', 'tests', 'trainer']);
    assert.deepEqual(callers('trainer'), ['gateway', 'inference', 'tests']);
    assert.deepEqual(callers('inference'), ['gateway', 'tests']);
  });

  test('evaluation install: bundled NATS, PostgreSQL and MinIO with generated Secrets', () => {
    for (const part of ['nats', 'postgresql', 'minio']) {
      findObject(objects, 'StatefulSet', `labelloop-${part}`);
      findObject(objects, 'Secret', `labelloop-${part}`);
      findObject(objects, 'NetworkPolicy', `labelloop-${part}`);
    }
  });

  test('helm test pods check health and /metrics of every service', () => {
    const pods = objects.filter((o) => o.kind === 'Pod');
    assert.deepEqual(pods.map((p) => p.metadata.name).sort(), ['labelloop-test-health', 'labelloop-test-metrics']);
    for (const pod of pods) {
      assert.equal(pod.metadata.annotations?.['helm.sh/hook'], 'test');
      const targets = JSON.parse(containersOf(pod)[0]!.env!.find((e) => e.name === 'LABELLOOP_TARGETS')!.value!) as Array<{ name: string }>;
      assert.deepEqual(targets.map((t) => t.name).sort(), services);
    }
    const script = findObject(objects, 'ConfigMap', 'labelloop-tests').data as Record<string, string>;
    assert.equal(script['check.cjs'], readFileSync(join(chartDir, 'files/tests/check.cjs'), 'utf8').trimEnd());
  });
});

describe('production values', () => {
  const objects = render('production');

  test('no bundled infrastructure and no Secret: database, S3, NATS and keys are referenced', () => {
    assert.deepEqual(objects.filter((o) => o.kind === 'Secret' || o.kind === 'StatefulSet').map((o) => o.metadata.name), []);
    const refs = new Set<string>();
    for (const workload of workloads(objects)) {
      for (const container of containersOf(workload)) {
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref) refs.add(`${variable.name}=${ref.name}/${ref.key}`);
        }
      }
    }
    assert.deepEqual([...refs].sort(), [
      'DATABASE_URL=labelloop-database/url',
      'INTERNAL_TOKEN=labelloop-internal-token/internalToken',
      'LABELLOOP_ADMIN_KEY=labelloop-admin/adminKey',
      'LABELLOOP_API_KEY=labelloop-retrain/apiKey',
      'NATS_URL=labelloop-nats/url',
      'S3_ACCESS_KEY_ID=labelloop-s3/accessKeyId',
      'S3_SECRET_ACCESS_KEY=labelloop-s3/secretAccessKey',
    ]);
  });

  test('one retrain CronJob per configured dataset, calling the retrain command against the gateway', () => {
    const values = parse(readFileSync(join(chartDir, 'ci/production-values.yaml'), 'utf8')) as {
      retrain: { schedule: string; datasets: Array<{ id: string; schedule?: string }> };
    };
    const cronJobs = objects.filter((o) => o.kind === 'CronJob');
    assert.equal(cronJobs.length, values.retrain.datasets.length);
    for (const dataset of values.retrain.datasets) {
      const cronJob = cronJobs.find((c) => c.metadata.annotations?.['labelloop.io/dataset-id'] === dataset.id);
      assert.ok(cronJob, `no CronJob for dataset ${dataset.id}`);
      assert.equal((cronJob.spec as { schedule: string }).schedule, dataset.schedule ?? values.retrain.schedule);
      const container = containersOf(cronJob)[0] as Container & { command: string[]; args: string[] };
      assert.deepEqual(container.command, ['node', 'services/gateway/dist/cli/retrain.js']);
      assert.deepEqual(container.args.slice(0, 4), ['--dataset', dataset.id, '--url', 'http://labelloop-gateway:8080']);
      assert.match(container.image, /\/gateway:/);
    }
  });

  test('Ingress to the gateway; ServiceMonitors keep the services\' labels; alerts and dashboard are the checked files', () => {
    const ingress = findObject(objects, 'Ingress', 'labelloop-gateway').spec as { rules: Array<{ http: { paths: Array<{ backend: unknown }> } }> };
    assert.deepEqual(ingress.rules[0]!.http.paths[0]!.backend, { service: { name: 'labelloop-gateway', port: { name: 'http' } } });
    for (const service of services) {
      const monitor = findObject(objects, 'ServiceMonitor', `labelloop-${service}`).spec as { endpoints: Array<{ port: string; honorLabels: boolean }> };
      assert.equal(monitor.endpoints[0]!.port, service === 'gateway' ? 'http' : 'metrics');
      assert.equal(monitor.endpoints[0]!.honorLabels, true);
    }
    const rule = findObject(objects, 'PrometheusRule', 'labelloop');
    assert.deepEqual(rule.spec, parse(readFileSync(rulesPath, 'utf8')));
    const dashboard = findObject(objects, 'ConfigMap', 'labelloop-dashboard');
    assert.equal(dashboard.metadata.labels?.grafana_dashboard, '1');
    assert.equal(dashboard.metadata.namespace, 'monitoring');
    assert.deepEqual(JSON.parse((dashboard.data as Record<string, string>)['labelloop.json']!), JSON.parse(readFileSync(dashboardPath, 'utf8')));
  });
});

describe('GPU values', () => {
  test('trainer pods request nvidia.com/gpu on GPU nodes with the -gpu image; nothing else changes', () => {
    const cpu = findObject(render('production'), 'Deployment', 'labelloop-trainer');
    const gpu = findObject(render('production + GPU'), 'Deployment', 'labelloop-trainer');
    const spec = podSpec(gpu) as unknown as { nodeSelector: Record<string, string>; tolerations: unknown[]; runtimeClassName: string };
    const [container] = containersOf(gpu);
    assert.equal(container!.resources?.limits?.['nvidia.com/gpu'], 1);
    assert.equal(container!.resources?.requests?.['nvidia.com/gpu'], 1);
    assert.equal(spec.nodeSelector['nvidia.com/gpu.present'], 'true');
    assert.deepEqual(spec.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.equal(spec.runtimeClassName, 'nvidia');
    assert.equal(container!.image, `${containersOf(cpu)[0]!.image}-gpu`);
    assert.equal(JSON.stringify(containersOf(cpu)[0]!.resources).includes('nvidia'), false);
    for (const other of ['dataset', 'inference', 'gateway']) {
      const deployment = findObject(render('production + GPU'), 'Deployment', `labelloop-${other}`);
      assert.doesNotMatch(JSON.stringify(deployment), /nvidia/, other);
    }
  });
});

test('a disabled service is not rendered and its callers leave out its address', () => {
  const objects = render('ci/minimal-values.yaml');
  assert.equal(objects.some((o) => o.metadata.name === 'labelloop-inference'), false);
  const gateway = containersOf(findObject(objects, 'Deployment', 'labelloop-gateway'))[0]!;
  assert.deepEqual(gateway.env!.filter((v) => v.name.endsWith('_ADDR')).map((v) => v.name), ['DATASET_ADDR', 'TRAINER_ADDR']);
});

describe('bad values fail with a clear message', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no database', { bundled: { postgresql: { enabled: false } } }, /database\.existingSecret is required/],
    ['no NATS', { bundled: { nats: { enabled: false } } }, /nats\.existingSecret is required/],
    ['bundled MinIO and an S3 endpoint', { s3: { endpoint: 'https://s3.example.com' } }, /either bundled\.minio\.enabled or s3/],
    ['retrain without an API key Secret', { retrain: { enabled: true, datasets: [{ id: 'x' }] } }, /retrain\.apiKeySecret\.name is required/],
    ['an unknown top-level key', { servicez: {} }, /servicez|Additional property/],
    ['a wrong port type', { services: { dataset: { ports: { grpc: 'fifty' } } } }, /grpc|Invalid type/],
  ];
  for (const [name, set, message] of cases) {
    test(name, () => assert.throws(() => helmTemplateText({ set }), message));
  }
});
