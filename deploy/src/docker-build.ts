// `npm run docker:build [-- service ...]`: builds every service image from the repository root
// with the local Docker engine, named as the Helm chart expects them:
//   $LABELLOOP_IMAGE_PREFIX/<service>:$LABELLOOP_IMAGE_TAG (+ <tag>-gpu for the trainer's GPU variant)
// Defaults: docker.io/labelloop and the chart's appVersion.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { imageBuilds } from './dockerfiles.js';
import { chartDir, repoRoot } from './paths.js';

const prefix = process.env.LABELLOOP_IMAGE_PREFIX ?? 'docker.io/labelloop';
const tag = process.env.LABELLOOP_IMAGE_TAG ?? String((parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion);
const only = process.argv.slice(2);

if (spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore' }).status !== 0) {
  console.error('docker:build needs a running Docker engine (docker version could not reach one)');
  process.exit(1);
}

const builds = imageBuilds().filter((build) => only.length === 0 || only.includes(build.service));
if (builds.length === 0) {
  console.error(`docker:build: no service named ${only.join(', ')}`);
  process.exit(2);
}
for (const build of builds) {
  const image = `${prefix}/${build.name}:${tag}${build.tagSuffix}`;
  const args = ['build', '--file', build.dockerfile, '--tag', image, ...(build.target ? ['--target', build.target] : []), '.'];
  console.log(`docker ${args.join(' ')}`);
  const result = spawnSync('docker', args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, DOCKER_BUILDKIT: '1' } });
  if (result.status !== 0) {
    console.error(`docker:build: ${image} failed`);
    process.exit(result.status ?? 1);
  }
}
console.log(`built ${builds.length} images`);
