// The services' Dockerfiles, checked statically (no Docker engine here): pinned base images,
// production dependencies only, non-root, tini as PID 1, the entry point and ports the chart
// uses, and the trainer's GPU variant on the CUDA/cuDNN that its libtensorflow was built for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { chartValues } from '../src/chart-values.js';
import {
  baseImage,
  imageBuilds,
  parseDockerfile,
  serviceDockerfiles,
  servicePackages,
  stageNamed,
  stagesFeeding,
  type ParsedDockerfile,
  type Stage,
} from '../src/dockerfiles.js';
import { repoRoot } from '../src/paths.js';

const dockerfiles = serviceDockerfiles();
const services = chartValues().services as Record<string, { ports: Record<string, number> }>;
const tfjsVersion = (JSON.parse(readFileSync(join(repoRoot, 'libs/ml/package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
}).dependencies['@tensorflow/tfjs']!.replace(/^[\^~]/, '');

/** Pinned: a digest, or at least an exact x.y.z version in the tag; never latest. */
function pinning(image: string): 'digest' | 'version' | 'unpinned' {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return 'digest';
  const tag = /:([^:/@]+)$/.exec(image)?.[1];
  if (tag && tag !== 'latest' && /\d+\.\d+\.\d+/.test(tag)) return 'version';
  return 'unpinned';
}

/** Final stages: the default one and every named variant (cpu, gpu). */
function finalStages(parsed: ParsedDockerfile): Stage[] {
  const names = new Set(['cpu', 'gpu', 'runtime']);
  const stages = parsed.stages.filter((s) => s.name && names.has(s.name));
  return [...new Set([...stages, stageNamed(parsed)])];
}

const run = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');

test('every service has a Dockerfile and docker:build builds them all', () => {
  assert.deepEqual(dockerfiles.map((d) => d.service), servicePackages());
  const builds = imageBuilds().map((b) => `${b.name}:${b.tagSuffix || 'default'}${b.target ? `(${b.target})` : ''}`);
  assert.ok(builds.includes('trainer:default(cpu)') && builds.includes('trainer:-gpu(gpu)'), builds.join(', '));
  const rootScripts = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.match(rootScripts['docker:build'] ?? '', /deploy\/src\/docker-build\.ts/);
});

test('.dockerignore keeps installed, built and local files out of the build context', () => {
  const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const entry of ['.git', '**/node_modules', '**/dist', '.labelloop', '**/.env']) assert.ok(ignored.includes(entry), entry);
});

describe('Dockerfile', () => {
  for (const { service, parsed } of dockerfiles) {
    test(service, () => {
      // Base images pinned; the Node image by digest.
      for (const stage of parsed.stages) {
        if (parsed.stages.some((s) => s.name === stage.from)) continue;
        assert.notEqual(pinning(stage.from), 'unpinned', `${service}: FROM ${stage.from} (stage ${stage.name})`);
        if (stage.from.includes('/node:')) assert.equal(pinning(stage.from), 'digest', `${service}: ${stage.from}`);
      }
      assert.match(parsed.args.get('NODE_IMAGE') ?? '', /^docker\.io\/library\/node:24\.\d+\.\d+-bookworm-slim@sha256:/);

      // turbo prune of this service, then a production-only install reaching the runtime.
      const allRun = parsed.stages.map(run).join('\n');
      assert.match(allRun, new RegExp(`turbo@[\\d.]+ prune @labelloop/${service} --docker`));
      for (const final of finalStages(parsed)) {
        const where = `${service} (${final.name})`;
        const feeding = [...stagesFeeding(parsed, final)];
        assert.ok(feeding.some((s) => /npm ci --omit=dev/.test(run(s))), `${where}: no npm ci --omit=dev feeds it`);
        // The full (dev) install stays in the build stage: only its built files are copied.
        const copies = final.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
        assert.ok(copies.some((c) => c.startsWith('--from=build /runtime/')), `${where}: copies only /runtime from build`);
        assert.ok(!copies.some((c) => /--from=build \/app/.test(c)), `${where}: copies the build stage's node_modules`);

        const users = final.instructions.filter((i) => i.keyword === 'USER');
        assert.ok(users.length > 0, `${where}: no USER`);
        const user = users.at(-1)!.args.split(':')[0]!;
        assert.ok(/^\d+$/.test(user) && Number(user) !== 0, `${where}: USER ${user} must be a numeric non-root uid (runAsNonRoot)`);

        const entrypoint = final.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)?.args;
        assert.deepEqual(JSON.parse(entrypoint ?? 'null'), ['/usr/bin/tini', '--'], `${where}: tini as PID 1`);
        assert.match(run(final), /apt-get install -y --no-install-recommends tini/);
        const cmd = final.instructions.filter((i) => i.keyword === 'CMD').at(-1)?.args;
        assert.deepEqual(JSON.parse(cmd ?? 'null'), ['node', `services/${service}/dist/main.js`], `${where}: CMD`);

        const exposed = final.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map(Number).sort();
        assert.deepEqual(exposed, Object.values(services[service]!.ports).sort(), `${where}: EXPOSE vs the chart's ports`);
      }
    });
  }
});

test('trainer: CPU variant with tfjs-node, GPU variant with tfjs-node-gpu on CUDA 11.2 / cuDNN 8', () => {
  const { parsed } = dockerfiles.find((d) => d.service === 'trainer')!;
  const cpu = stageNamed(parsed, 'cpu');
  const gpu = stageNamed(parsed, 'gpu');
  assert.equal(stageNamed(parsed), cpu, 'a build without --target gives the CPU image');
  const installs = (stage: Stage) => [...stagesFeeding(parsed, stage)].map(run).join('\n');
  // Same version as libs/ml's @tensorflow/tfjs, so the backend registers with the same tfjs-core.
  assert.match(installs(cpu), new RegExp(`@tensorflow/tfjs-node@${tfjsVersion.replace(/\./g, '\\.')}`));
  assert.doesNotMatch(installs(cpu), /tfjs-node-gpu/);
  assert.match(installs(gpu), new RegExp(`@tensorflow/tfjs-node-gpu@${tfjsVersion.replace(/\./g, '\\.')}`));
  // tfjs-node-gpu 4.x loads libtensorflow 2.9.1: CUDA 11.2 and cuDNN 8.1.
  assert.match(tfjsVersion, /^4\./, 'check the CUDA base image when tfjs moves past 4.x');
  const cuda = baseImage(parsed, gpu);
  assert.match(cuda, /^docker\.io\/nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu/);
  assert.equal(baseImage(parsed, cpu), parsed.args.get('NODE_IMAGE'));
});

test('the checks catch a bad Dockerfile', () => {
  const bad = parseDockerfile('FROM node:latest AS runtime\nRUN npm install\nUSER root\nCMD ["node", "x.js"]\n');
  assert.equal(pinning(bad.stages[0]!.from), 'unpinned');
  assert.equal(stageNamed(bad).instructions.find((i) => i.keyword === 'USER')?.args, 'root');
  assert.equal(pinning('node:24-bookworm-slim'), 'unpinned');
  assert.equal(pinning('nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04'), 'version');
});
