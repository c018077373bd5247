import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Where the deployment files live, relative to this package.

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const chartDir = join(repoRoot, 'helm/labelloop');
export const k8sDir = join(repoRoot, 'k8s');
export const servicesDir = join(repoRoot, 'services');
