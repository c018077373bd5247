import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { helmTemplate, type K8sObject } from './helm.js';
import { chartDir, k8sDir } from './paths.js';

// k8s/ is rendered from the Helm chart, so kubectl users get the same objects as helm users and
// one set of templates is maintained: the kustomize base, the monitoring component, the dev
// overlay's in-cluster infrastructure and the prod overlay's Ingress and retrain CronJob.
// Values: k8s/chart-values/*.yaml. The overlays' kustomization.yaml files and the gpu component
// are written by hand.

const values = (name: string) => join(k8sDir, 'chart-values', name);

interface Part {
  /** File under k8s/. */
  file: string;
  valuesFiles: string[];
  templates: string[];
  /** Drop objects, e.g. Secrets with generated passwords. */
  keep?: (object: K8sObject) => boolean;
}

export const PARTS: Part[] = [
  {
    file: 'base/labelloop.yaml',
    valuesFiles: [values('base.yaml')],
    templates: ['templates/services.yaml', 'templates/networkpolicy-deny-all.yaml', 'templates/dashboard.yaml'],
  },
  {
    file: 'components/monitoring/monitoring.yaml',
    valuesFiles: [values('base.yaml'), values('prod.yaml')],
    templates: ['templates/servicemonitors.yaml', 'templates/prometheusrule.yaml'],
  },
  {
    file: 'overlays/dev/infrastructure.yaml',
    valuesFiles: [values('dev.yaml')],
    templates: ['templates/bundled/nats.yaml', 'templates/bundled/postgresql.yaml', 'templates/bundled/minio.yaml'],
    keep: (object) => object.kind !== 'Secret',
  },
  {
    file: 'overlays/prod/ingress.yaml',
    valuesFiles: [values('base.yaml'), values('prod.yaml')],
    templates: ['templates/ingress.yaml'],
  },
  {
    file: 'overlays/prod/retrain.yaml',
    valuesFiles: [values('base.yaml'), values('prod.yaml')],
    templates: ['templates/retrain-cronjobs.yaml'],
  },
];

/** Helm's own bookkeeping labels mean nothing to kustomize users. */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by'];

function withoutHelmLabels(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutHelmLabels);
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'labels' && child && typeof child === 'object' && !Array.isArray(child)) {
      result[key] = Object.fromEntries(Object.entries(child).filter(([label]) => !HELM_LABELS.includes(label)));
    } else {
      result[key] = withoutHelmLabels(child);
    }
  }
  return result;
}

function chartVersion(): string {
  const chart = readFileSync(join(chartDir, 'Chart.yaml'), 'utf8');
  return /^version:\s*(\S+)/m.exec(chart)?.[1] ?? '?';
}

/** The generated files: path under k8s/ → content. */
export function renderK8s(): Map<string, string> {
  const files = new Map<string, string>();
  for (const part of PARTS) {
    const objects = helmTemplate({ valuesFiles: part.valuesFiles, showOnly: part.templates }).filter(part.keep ?? (() => true));
    const header =
      `# Generated from helm/labelloop ${chartVersion()} (${part.templates.map((t) => t.replace('templates/', '')).join(', ')}) ` +
      `with k8s/chart-values/${part.valuesFiles.map((f) => f.split('/').at(-1)).join(' + ')}.\n` +
      '# Do not edit: change the chart or those values and run `npm run render:k8s --workspace @labelloop/deploy`.\n';
    const body = objects.map((object) => stringify(withoutHelmLabels(object), { lineWidth: 0 })).join('---\n');
    files.set(part.file, header + body);
  }
  return files;
}
