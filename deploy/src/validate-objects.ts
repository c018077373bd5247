import { createRequire } from 'node:module';
import type { K8sObject } from './helm.js';

// Validation of rendered objects against the Kubernetes API schemas that kubernetes-models (and
// @kubernetes-models/prometheus-operator for ServiceMonitor / PrometheusRule) ship as compiled
// JSON-schema validators, plus a strict check for unknown fields, which those validators let
// through (the schemas do not forbid additional properties). The strict check runs the same
// validator over a proxy of the object: every field name the schema knows is looked up by the
// validator, every map it iterates (labels, resources, ...) is enumerated; an own key that was
// neither looked up nor part of an enumerated map is unknown to the schema.

const require = createRequire(import.meta.url);

interface ModelClass {
  prototype: { validate(this: unknown): void };
}

/** The models module of an apiVersion, e.g. apps/v1 → kubernetes-models/apps/v1. */
function modelModule(apiVersion: string): Record<string, ModelClass> {
  const specifier = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}`
    : `kubernetes-models/${apiVersion}`;
  try {
    return require(specifier) as Record<string, ModelClass>;
  } catch (err) {
    throw new Error(`no schema for apiVersion ${apiVersion} (${(err as Error).message.split('\n')[0]})`);
  }
}

function modelFor(object: K8sObject): ModelClass {
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
    throw new Error('object without apiVersion or kind');
  }
  const model = modelModule(object.apiVersion)[object.kind];
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  return model;
}

interface Access {
  read: Set<string>;
  enumerated: Set<string>;
}

function track(value: unknown, path: string, access: Access): unknown {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value as object, {
    get(target, key, receiver) {
      const result = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return result;
      access.read.add(`${path}/${key}`);
      return track(result, `${path}/${key}`, access);
    },
    has(target, key) {
      if (typeof key === 'string') access.read.add(`${path}/${key}`);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      access.enumerated.add(path);
      return Reflect.ownKeys(target);
    },
  });
}

function unknownFields(value: unknown, path: string, access: Access, found: string[]): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => unknownFields(item, `${path}/${index}`, access, found));
    return;
  }
  const isMap = access.enumerated.has(path);
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}/${key}`;
    if (!isMap && !access.read.has(childPath)) {
      found.push(childPath);
      continue;
    }
    unknownFields(child, childPath, access, found);
  }
}

export interface ValidationProblem {
  object: string;
  problem: string;
}

/** Problems of one object: schema violations and fields the schema does not know. */
export function validateObject(object: K8sObject): string[] {
  let model: ModelClass;
  try {
    model = modelFor(object);
  } catch (err) {
    return [(err as Error).message];
  }
  const problems: string[] = [];
  const access: Access = { read: new Set(), enumerated: new Set() };
  try {
    model.prototype.validate.call(track(object, '', access));
  } catch (err) {
    const details = (err as { errors?: Array<{ instancePath: string; message?: string; params?: unknown }> }).errors;
    if (details?.length) {
      for (const detail of details) problems.push(`${detail.instancePath || '/'} ${detail.message ?? JSON.stringify(detail.params)}`);
    } else {
      problems.push((err as Error).message);
    }
  }
  const unknown: string[] = [];
  unknownFields(object, '', access, unknown);
  for (const path of unknown) problems.push(`${path}: unknown field`);
  return problems;
}

/** Problems of every object, each naming its object (kind/name). */
export function validateObjects(objects: K8sObject[]): ValidationProblem[] {
  return objects.flatMap((object) =>
    validateObject(object).map((problem) => ({ object: `${object.kind}/${object.metadata?.name}`, problem })),
  );
}
