import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { K8sObject } from './helm.js';
import { chartDir } from './paths.js';

// The chart's values.yaml and values.schema.json, and the environment of rendered containers.

interface SchemaNode {
  properties?: Record<string, SchemaNode & { examples?: unknown[] }>;
  allOf?: SchemaNode[];
  $ref?: string;
}

interface ChartSchema extends SchemaNode {
  definitions: Record<string, SchemaNode>;
}

export function chartValues(): { services: Record<string, unknown> } & Record<string, unknown> {
  return parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
}

export function chartSchema(): ChartSchema {
  return JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as ChartSchema;
}

/** The `config` keys values.schema.json accepts for a service, with their examples. */
export function configKeys(service: string): Map<string, unknown> {
  const schema = chartSchema();
  const entry = schema.properties?.services?.properties?.[service];
  const configRef = entry?.allOf?.map((part) => part.properties?.config?.$ref).find(Boolean);
  if (!configRef) return new Map();
  const definition = schema.definitions[configRef.replace('#/definitions/', '')];
  return new Map(
    Object.entries(definition?.properties ?? {}).map(([key, property]) => [key, property.examples?.[0]]),
  );
}

interface EnvVar {
  name: string;
}

interface PodSpecLike {
  containers: Array<{ name: string; env?: EnvVar[] }>;
}

/** The pod spec of a Deployment, StatefulSet, Job, CronJob or Pod. */
export function podSpec(object: K8sObject): PodSpecLike | undefined {
  const spec = object.spec as Record<string, any> | undefined;
  if (!spec) return undefined;
  if (object.kind === 'Pod') return spec as PodSpecLike;
  if (object.kind === 'CronJob') return spec.jobTemplate?.spec?.template?.spec;
  return spec.template?.spec;
}

/** Names of the environment variables of a Deployment's first container, in order. */
export function containerEnvNames(object: K8sObject): string[] {
  return (podSpec(object)?.containers[0]?.env ?? []).map((variable) => variable.name);
}
