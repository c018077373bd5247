// The Grafana dashboard and the Prometheus rules: valid JSON / rule files, every PromQL
// expression parses (Prometheus' lezer grammar; `promtool check rules` where Debian's prometheus
// package is installed), and every metric they select is one the services really export —
// scraped from labelloop running as `npm start` runs it. The helm test script runs against the
// same system.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Labelloop, startLabelloop } from '@labelloop/scripts';
import { makeTempDir, type TempDir } from '@labelloop/testing';
import { chartValues } from '../src/chart-values.js';
import { chartDir, repoRoot } from '../src/paths.js';
import {
  dashboardQueries,
  parsePromQL,
  readDashboard,
  readRuleGroups,
  recordedNames,
  ruleQueries,
  rulesPath,
  type Query,
} from '../src/promql.js';
import { listeningPorts, metricFamilies, sampleNames, type MetricFamily } from '../src/scrape.js';

const dashboard = readDashboard();
const groups = readRuleGroups();
const queries: Query[] = [...dashboardQueries(dashboard), ...ruleQueries(groups)];

describe('dashboard', () => {
  test('is a Grafana dashboard with a Prometheus data source variable and panels with queries', () => {
    assert.equal(dashboard.uid, 'labelloop-overview');
    const variables = dashboard.templating?.list.map((v) => v.name) ?? [];
    assert.deepEqual(variables, ['datasource', 'dataset']);
    assert.ok(dashboardQueries(dashboard).length >= 20);
  });

  test('shows what the issue asks for', () => {
    const titles = JSON.stringify(dashboard.panels.map((p) => p.title)).toLowerCase();
    for (const wanted of ['accuracy', 'macro-f1', 'recall per class', 'coverage', 'audited', 'labels per hour by source', 'queue depth', 'training run duration', 'inference latency', 'inference throughput']) {
      assert.ok(titles.includes(wanted), `no panel about ${wanted}`);
    }
  });
});

describe('PromQL of the dashboard and the rules parses', () => {
  for (const query of queries) {
    test(query.source, () => {
      const parsed = parsePromQL(query.expr);
      assert.deepEqual(parsed.errors, [], `syntax error in ${query.expr}`);
      assert.ok(parsed.metrics.length > 0, `selects no metric: ${query.expr}`);
    });
  }
  test('the parser finds errors (the check can fail)', () => {
    assert.notDeepEqual(parsePromQL('sum(rate(labelloop_labels_total[5m])').errors, []);
  });
});

describe('alert rules', () => {
  test('cover the alerts the issue asks for', () => {
    const alerts = new Set(groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));
    for (const alert of [
      'LabelloopChampionAccuracyDropped',
      'LabelloopAutoLabelErrorAboveTarget',
      'LabelloopTrainingRunsFailing',
      'LabelloopReviewQueueGrowingWithoutLabellers',
      'LabelloopServiceDown',
    ]) {
      assert.ok(alerts.has(alert), alert);
    }
    const down = groups.flatMap((g) => g.rules).filter((r) => r.alert === 'LabelloopServiceDown').map((r) => r.labels?.service).sort();
    assert.deepEqual(down, Object.keys(chartValues().services).sort(), 'a LabelloopServiceDown rule per service');
  });

  test('promtool check rules', (t) => {
    const promtool = spawnSync('promtool', ['check', 'rules', rulesPath], { encoding: 'utf8' });
    if ((promtool.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      t.skip('promtool not installed (Debian package prometheus; .ci/run installs it)');
      return;
    }
    assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
    assert.match(promtool.stdout, /SUCCESS: \d+ rules found/);
  });
});

describe('against a running labelloop (npm start)', () => {
  let dir: TempDir;
  let labelloop: Labelloop;
  const families = new Map<string, MetricFamily>();
  const targets: Array<{ name: string; grpc?: string; metrics?: string; http?: string }> = [];

  before(async () => {
    dir = makeTempDir('deploy-scrape');
    const env = { ...process.env };
    for (const name of ['DATABASE_URL', 'NATS_URL', 'S3_ENDPOINT', 'LABELLOOP_ADMIN_KEY', 'PORT']) delete env[name];
    labelloop = await startLabelloop({ dataDir: dir.path, env, gatewayPort: 0, freeInternalPorts: true });
    for (const [name, service] of labelloop.services) {
      if (name === 'gateway') {
        targets.push({ name, http: labelloop.gatewayUrl });
        continue;
      }
      // The launcher picked free ports: find them from the process (the gateway is ready before
      // the trainer and inference may be listening), the metrics one by asking.
      let ports: number[] = [];
      let metricsPort: number | undefined;
      for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
        ports = listeningPorts(service.pid!);
        metricsPort = undefined;
        for (const port of ports) {
          const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
          if (response?.ok && (await response.text()).includes('# TYPE')) metricsPort = port;
        }
        if (metricsPort !== undefined && ports.length === 2) break;
      }
      const grpcPorts = ports.filter((port) => port !== metricsPort);
      assert.ok(metricsPort !== undefined && grpcPorts.length === 1, `${name}: listening on ${ports.join(', ')}`);
      targets.push({ name, grpc: `127.0.0.1:${grpcPorts[0]}`, metrics: `http://127.0.0.1:${metricsPort}/metrics` });
    }
    for (const target of targets) {
      const text = await (await fetch(target.metrics ?? `${target.http}/metrics`)).text();
      for (const [name, family] of metricFamilies(text)) families.set(name, family);
    }
  });

  after(async () => {
    await labelloop?.stop();
    dir?.remove();
  });

  test('every service of the chart runs', () => {
    assert.deepEqual(targets.map((t) => t.name).sort(), Object.keys(chartValues().services).sort());
  });

  test('every metric the dashboard and the rules select is exported by the services', () => {
    const exported = sampleNames(families.values());
    const recorded = recordedNames(groups);
    const missing = new Map<string, string[]>();
    for (const query of queries) {
      for (const metric of parsePromQL(query.expr).metrics) {
        if (exported.has(metric) || recorded.has(metric)) continue;
        missing.set(metric, [...(missing.get(metric) ?? []), query.source]);
      }
    }
    const report = [...missing].map(([metric, sources]) => `${metric} (${[...new Set(sources)].join('; ')})`);
    assert.deepEqual(report, [], `not exported by any service at start:\n  ${report.join('\n  ')}`);
  });

  test('the services label their samples with `service`, which the dashboard and rules group by', () => {
    const withSamples = [...families.values()].filter((family) => family.labels.size > 0);
    assert.ok(withSamples.length > 0);
    for (const family of withSamples) assert.ok(family.labels.has('service'), `${family.name}: labels ${[...family.labels].join(', ')}`);
  });

  for (const mode of ['health', 'metrics']) {
    test(`the helm test script (${mode}) passes against it`, () => {
      const result = spawnSync(process.execPath, [join(chartDir, 'files/tests/check.cjs'), mode], {
        encoding: 'utf8',
        env: { ...process.env, LABELLOOP_TARGETS: JSON.stringify(targets), LABELLOOP_APP_DIR: repoRoot, CHECK_TIMEOUT_SECONDS: '60' },
        timeout: 120_000,
      });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
      assert.equal(result.stdout.trim().split('\n').filter((line) => line.startsWith('ok ')).length, mode === 'health' ? targets.length + 1 : targets.length);
    });
  }
});
