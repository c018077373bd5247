// labelloop.json: what a model artifact needs besides its weights to be used and audited later.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { FailedPreconditionError, InvalidArgumentError } from '@labelloop/common';
import type { ImageSpec } from '../data/image-spec.js';
import type { ModelSpec } from '../models/model-spec.js';

export const SIDECAR_FORMAT_VERSION = 1;

export interface ModelSidecar {
  formatVersion: typeof SIDECAR_FORMAT_VERSION;
  /** The architecture, so the same network can be rebuilt (e.g. in a worker thread). */
  modelSpec: ModelSpec;
  imageSpec: ImageSpec;
  /** Class names, in the order of the model's outputs. */
  classes: string[];
  /** Temperature fitted on validation: calibrated probabilities are softmax(logits / temperature). */
  temperature: number;
  /** Evaluation results, e.g. { test: EvaluationReport, calibration: CalibrationReport }. */
  metrics: Record<string, unknown>;
  /** tfjs backend the model was trained on ('wasm', 'tensorflow', 'cpu'...). */
  backend: string;
  versions: Record<string, string>;
  savedAt: string;
  /** Anything else worth keeping (dataset id, training run id, hyper-parameters...). */
  extra?: Record<string, unknown>;
}

export type ModelSidecarInput = Omit<ModelSidecar, 'formatVersion' | 'backend' | 'versions' | 'savedAt'> & { backend?: string };

const require = createRequire(import.meta.url);

/** Versions of what produced the model: tfjs, its backends where installed, Node, this library. */
export function libraryVersions(): Record<string, string> {
  const versions: Record<string, string> = { tfjs: tf.version.tfjs, node: process.versions.node };
  for (const name of ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    try {
      versions[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      // Not installed: optional backends.
    }
  }
  // src/artifacts and dist/artifacts both sit two levels below the package root.
  const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  versions[own.name] = own.version;
  return versions;
}

/** Checks a sidecar against itself and, when given, the model it describes. */
export function assertSidecar(sidecar: ModelSidecar, model?: tf.LayersModel): void {
  const { modelSpec, imageSpec, classes, temperature } = sidecar;
  const [h, w, c] = modelSpec.inputShape;
  if (h !== imageSpec.height || w !== imageSpec.width || c !== imageSpec.channels) {
    throw new InvalidArgumentError(`image spec ${JSON.stringify(imageSpec)} does not match model input ${JSON.stringify(modelSpec.inputShape)}`);
  }
  if (classes.length !== modelSpec.numClasses || new Set(classes).size !== classes.length) {
    throw new InvalidArgumentError(`classes must be ${modelSpec.numClasses} distinct names, got ${classes.length}`);
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InvalidArgumentError(`temperature must be > 0, got ${temperature}`);
  if (model) {
    const input = model.inputs[0]!.shape.slice(1);
    const output = model.outputs[0]!.shape;
    if (input.join() !== modelSpec.inputShape.join() || output[output.length - 1] !== classes.length) {
      throw new InvalidArgumentError(
        `model maps ${JSON.stringify(input)} → ${JSON.stringify(output)}, sidecar says ${JSON.stringify(modelSpec.inputShape)} → ${classes.length} classes`,
      );
    }
  }
}

export function completeSidecar(input: ModelSidecarInput): ModelSidecar {
  return {
    ...input,
    formatVersion: SIDECAR_FORMAT_VERSION,
    backend: input.backend ?? tf.getBackend(),
    versions: libraryVersions(),
    savedAt: new Date().toISOString(),
  };
}

export function parseSidecar(bytes: Buffer, key: string): ModelSidecar {
  let parsed: Partial<ModelSidecar>;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as Partial<ModelSidecar>;
  } catch (error) {
    throw new FailedPreconditionError(`${key} is not JSON: ${(error as Error).message}`);
  }
  if (parsed.formatVersion !== SIDECAR_FORMAT_VERSION) {
    throw new FailedPreconditionError(`${key} has format version ${parsed.formatVersion}; this library reads ${SIDECAR_FORMAT_VERSION}`);
  }
  for (const field of ['modelSpec', 'imageSpec', 'classes', 'temperature'] as const) {
    if (parsed[field] === undefined) throw new FailedPreconditionError(`${key} lacks ${field}`);
  }
  return parsed as ModelSidecar;
}
