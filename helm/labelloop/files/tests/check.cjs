// labelloop's `helm test` check, run with the gateway image's Node and node_modules:
//   node check.cjs health   grpc.health.v1 of every gRPC service is SERVING; gateway /healthz and /readyz answer 200
//   node check.cjs metrics  every /metrics endpoint answers 200 with labelloop_* metric families
// LABELLOOP_TARGETS (JSON): [{ "name": "dataset", "grpc": "host:port", "metrics": "http://host:port/metrics" },
//                             { "name": "gateway", "http": "http://host:port" }]
// LABELLOOP_APP_DIR: where the application lives (/app in the images; the repository root elsewhere).
// Each check is retried until CHECK_TIMEOUT_SECONDS (default 120) have passed. Exit status 0 when all pass.
'use strict';
const { createRequire } = require('node:module');
const path = require('node:path');

const appDir = process.env.LABELLOOP_APP_DIR || '/app';
const requireFromApp = createRequire(path.join(appDir, 'services/gateway/package.json'));
const { createChannel, createClient } = requireFromApp('nice-grpc');
const { HealthDefinition } = requireFromApp('nice-grpc-server-health');
// grpc.health.v1 HealthCheckResponse.ServingStatus.SERVING
const SERVING = 1;

const mode = process.argv[2];
const targets = JSON.parse(process.env.LABELLOOP_TARGETS || '[]');
const deadline = Date.now() + Number(process.env.CHECK_TIMEOUT_SECONDS || 120) * 1000;

async function grpcServing(address) {
  const channel = createChannel(address);
  try {
    const client = createClient(HealthDefinition, channel);
    const response = await client.check({ service: '' }, { signal: AbortSignal.timeout(5000) });
    if (response.status !== SERVING) throw new Error(`status ${response.status}, not SERVING`);
    return 'SERVING';
  } finally {
    channel.close();
  }
}

async function httpOk(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${response.status}: ${body.slice(0, 200)}`);
  return body;
}

async function metricsServed(url) {
  const body = await httpOk(url);
  const families = body.split('\n').filter((line) => /^# TYPE labelloop_/.test(line)).length;
  if (families === 0) throw new Error('no labelloop_* metric families');
  return `${families} labelloop_* families`;
}

function checksFor(target) {
  if (mode === 'health') {
    if (target.grpc) return [[`${target.name} grpc.health.v1`, () => grpcServing(target.grpc)]];
    return [
      [`${target.name} /healthz`, () => httpOk(`${target.http}/healthz`).then(() => '200')],
      [`${target.name} /readyz`, () => httpOk(`${target.http}/readyz`).then(() => '200')],
    ];
  }
  if (mode === 'metrics') return [[`${target.name} /metrics`, () => metricsServed(target.metrics || `${target.http}/metrics`)]];
  throw new Error(`usage: check.cjs health|metrics (got ${mode})`);
}

async function retry(check) {
  for (;;) {
    try {
      return { ok: true, detail: await check() };
    } catch (err) {
      if (Date.now() > deadline) return { ok: false, detail: err instanceof Error ? err.message : String(err) };
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

async function main() {
  if (targets.length === 0) throw new Error('LABELLOOP_TARGETS names no target');
  let failed = 0;
  for (const target of targets) {
    for (const [label, check] of checksFor(target)) {
      const result = await retry(check);
      if (!result.ok) failed++;
      console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${label}: ${result.detail}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
