// k8s/: the parts rendered from the chart are current, every overlay builds with
// `kubectl kustomize` into objects valid against the Kubernetes API schemas, and each overlay
// holds what it promises (dev: in-cluster infrastructure with its Secrets; prod: external
// infrastructure, Ingress, monitoring, retraining; prod-gpu: the chart's GPU trainer).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { podSpec } from '../src/chart-values.js';
import { findObject, helmTemplate, parseObjects, type K8sObject } from '../src/helm.js';
import { k8sDir } from '../src/paths.js';
import { renderK8s } from '../src/render-k8s.js';
import { validateObjects } from '../src/validate-objects.js';

const OVERLAYS = ['dev', 'prod', 'prod-gpu'];

function kustomize(overlay: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', join(k8sDir, 'overlays', overlay)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`kubectl is needed for the kustomize check (${result.error.message})`);
  assert.equal(result.status, 0, `kubectl kustomize k8s/overlays/${overlay}:\n${result.stderr}`);
  // kustomize wraps long base64 Secret values over lines; the API server's decoder (Go's base64)
  // skips line breaks, the schema's byte format does not: join them before validating.
  return parseObjects(result.stdout).map((object) =>
    object.kind === 'Secret' && object.data
      ? { ...object, data: Object.fromEntries(Object.entries(object.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, '')])) }
      : object,
  );
}

type Env = Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
const containers = (object: K8sObject) =>
  (podSpec(object)?.containers ?? []) as Array<{ name: string; image: string; env?: Env; resources?: Record<string, Record<string, unknown>> }>;
const workloads = (objects: K8sObject[]) => objects.filter((o) => ['Deployment', 'StatefulSet', 'CronJob'].includes(o.kind));

test('k8s/ parts rendered from the chart are up to date', () => {
  for (const [file, content] of renderK8s()) {
    assert.equal(readFileSync(join(k8sDir, file), 'utf8'), content, `k8s/${file} is stale: run npm run render:k8s --workspace @labelloop/deploy`);
  }
});

const built = new Map(OVERLAYS.map((overlay) => [overlay, kustomize(overlay)]));

describe('kubectl kustomize: every object valid against the Kubernetes API schemas, no unknown field', () => {
  for (const overlay of OVERLAYS) {
    test(overlay, () => {
      const objects = built.get(overlay)!;
      assert.ok(objects.length > 20, `${overlay}: ${objects.length} objects`);
      assert.deepEqual(validateObjects(objects), []);
      for (const object of objects) assert.ok(object.metadata.namespace, `${object.kind}/${object.metadata.name} has no namespace`);
      for (const name of ['dataset', 'trainer', 'inference', 'gateway']) findObject(objects, 'Deployment', `labelloop-${name}`);
      findObject(objects, 'NetworkPolicy', 'labelloop-deny-all');
      findObject(objects, 'ConfigMap', 'labelloop-dashboard');
    });
  }
});

test('dev: in-cluster NATS, PostgreSQL and MinIO, and every Secret the pods reference exists with its key', () => {
  const objects = built.get('dev')!;
  for (const part of ['nats', 'postgresql', 'minio']) findObject(objects, 'StatefulSet', `labelloop-${part}`);
  const secrets = new Map(
    objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, Object.keys((o.data ?? {}) as Record<string, string>)]),
  );
  for (const workload of workloads(objects)) {
    for (const container of containers(workload)) {
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (!ref) continue;
        assert.ok(secrets.get(ref.name)?.includes(ref.key), `${workload.metadata.name}: ${variable.name} → ${ref.name}/${ref.key} missing`);
      }
    }
  }
  for (const service of ['dataset', 'trainer', 'inference']) {
    const env = containers(findObject(objects, 'Deployment', `labelloop-${service}`))[0]!.env!;
    assert.equal(env.find((v) => v.name === 'S3_ENDPOINT')?.value, 'http://labelloop-minio:9000', service);
    const names = env.map((v) => v.name);
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], `${service}: variables set twice`);
  }
});

test('prod: external infrastructure from Secrets, Ingress, ServiceMonitors, alerts, a suspended retrain example', () => {
  const objects = built.get('prod')!;
  assert.deepEqual(objects.filter((o) => o.kind === 'Secret' || o.kind === 'StatefulSet').map((o) => o.metadata.name), []);
  findObject(objects, 'Ingress', 'labelloop-gateway');
  findObject(objects, 'PrometheusRule', 'labelloop');
  assert.equal(objects.filter((o) => o.kind === 'ServiceMonitor').length, 4);
  const cronJob = objects.find((o) => o.kind === 'CronJob')!;
  assert.equal((cronJob.spec as { suspend: boolean }).suspend, true);
  for (const service of ['dataset', 'trainer', 'inference']) {
    const env = containers(findObject(objects, 'Deployment', `labelloop-${service}`))[0]!.env!;
    assert.equal(env.filter((v) => v.name === 'S3_REGION').length, 1, `${service}: one S3_REGION`);
    assert.equal(env.find((v) => v.name === 'S3_REGION')?.value, 'eu-west-1');
  }
  for (const workload of workloads(objects)) {
    for (const container of containers(workload)) assert.match(container.image, /^registry\.example\.com\/labelloop\/\w+:0\.1\.0$/);
  }
});

test('prod-gpu: the trainer as the chart renders it with services.trainer.gpu.enabled', () => {
  const chart = findObject(
    helmTemplate({ valuesFiles: [join(k8sDir, 'chart-values/base.yaml')], set: { 'services.trainer.gpu.enabled': true } }),
    'Deployment',
    'labelloop-trainer',
  );
  const kustomized = findObject(built.get('prod-gpu')!, 'Deployment', 'labelloop-trainer');
  const gpuParts = (deployment: K8sObject) => {
    const spec = podSpec(deployment) as unknown as { nodeSelector?: unknown; tolerations?: unknown };
    const [container] = containers(deployment);
    return {
      nodeSelector: spec.nodeSelector,
      tolerations: spec.tolerations,
      limit: container!.resources?.limits?.['nvidia.com/gpu'],
      request: container!.resources?.requests?.['nvidia.com/gpu'],
      tag: container!.image.split(':').at(-1),
    };
  };
  assert.deepEqual(gpuParts(kustomized), gpuParts(chart));
  for (const other of ['dataset', 'inference', 'gateway']) {
    assert.doesNotMatch(JSON.stringify(findObject(built.get('prod-gpu')!, 'Deployment', `labelloop-${other}`)), /nvidia|-gpu/, other);
  }
});
