import { InvalidArgumentError } from '@labelloop/common';
import { validateActiveLearning, type ActiveLearningInput } from './active-learning-settings.js';
import type { ActiveLearningSettings, ImageSpec, SplitRatios } from './types.js';

// What a dataset may be. Class names become folder names in exports and imports, hence the
// path-safety rules.

export const MAX_NAME_LENGTH = 100;
export const MAX_CLASSES = 1000;
export const MAX_CLASS_LENGTH = 100;
export const MAX_IMAGE_SIDE = 4096;
export const DEFAULT_IMAGE: ImageSpec = Object.freeze({ width: 28, height: 28, channels: 1 });
export const DEFAULT_SPLITS: SplitRatios = Object.freeze({ train: 0.7, validation: 0.15, test: 0.15 });
const RATIO_TOLERANCE = 1e-6;

// Control characters, and the bidirectional overrides and isolates that make a name display as
// something else (Trojan Source): names end up in folder names, CSV exports and the web UI.
const CONTROL = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

/** Length in characters (code points), not UTF-16 units. */
function charLength(text: string): number {
  return [...text].length;
}

export function validateDatasetName(name: string): string {
  if (name.trim() === '') throw new InvalidArgumentError('dataset name is required');
  if (charLength(name) > MAX_NAME_LENGTH) {
    throw new InvalidArgumentError(`dataset name must be at most ${MAX_NAME_LENGTH} characters`);
  }
  if (CONTROL.test(name) || name.includes('/')) {
    throw new InvalidArgumentError("dataset name must not contain control characters, bidirectional overrides or '/'");
  }
  return name;
}

/** Why a class name is refused, or undefined when it is fine. */
export function classNameProblem(name: string): string | undefined {
  if (name === '') return 'class names must not be empty';
  if (charLength(name) > MAX_CLASS_LENGTH) return `class "${name}" is longer than ${MAX_CLASS_LENGTH} characters`;
  if (name === '.' || name === '..') return `class "${name}" is not allowed (it is a path segment)`;
  if (CONTROL.test(name) || name.includes('/') || name.includes('\\')) {
    return `class "${name}" must not contain '/', '\\', control characters or bidirectional overrides`;
  }
  return undefined;
}

/** Checks a whole class list (also used when an import appends classes to an existing list). */
export function validateClasses(classes: readonly string[]): string[] {
  if (classes.length === 0) throw new InvalidArgumentError('a dataset needs at least one class');
  if (classes.length > MAX_CLASSES) throw new InvalidArgumentError(`a dataset has at most ${MAX_CLASSES} classes`);
  const seen = new Set<string>();
  for (const name of classes) {
    const problem = classNameProblem(name);
    if (problem) throw new InvalidArgumentError(problem);
    if (seen.has(name)) throw new InvalidArgumentError(`class "${name}" is listed twice`);
    seen.add(name);
  }
  return [...classes];
}

export function validateImageSpec(spec: ImageSpec | undefined): ImageSpec {
  if (!spec) return { ...DEFAULT_IMAGE };
  for (const side of ['width', 'height'] as const) {
    const value = spec[side];
    if (!Number.isInteger(value) || value < 1 || value > MAX_IMAGE_SIDE) {
      throw new InvalidArgumentError(`image ${side} must be an integer 1..${MAX_IMAGE_SIDE}, got ${value}`);
    }
  }
  if (spec.channels !== 1 && spec.channels !== 3) {
    throw new InvalidArgumentError(`image channels must be 1 (grey) or 3 (RGB), got ${spec.channels}`);
  }
  return { width: spec.width, height: spec.height, channels: spec.channels };
}

export function validateSplitRatios(ratios: SplitRatios | undefined): SplitRatios {
  if (!ratios) return { ...DEFAULT_SPLITS };
  const { train, validation, test } = ratios;
  for (const [name, value] of Object.entries({ train, validation, test })) {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(`split ratio ${name} must be a number ≥ 0, got ${value}`);
    }
  }
  if (!(train > 0)) throw new InvalidArgumentError('split ratio train must be greater than 0');
  const sum = train + validation + test;
  if (Math.abs(sum - 1) > RATIO_TOLERANCE) {
    throw new InvalidArgumentError(`split ratios must sum to 1, got ${sum}`);
  }
  return { train, validation, test };
}

export interface NewDataset {
  name: string;
  classes: string[];
  image: ImageSpec;
  splits: SplitRatios;
  activeLearning: ActiveLearningSettings;
}

export function validateNewDataset(input: {
  name: string;
  classes: readonly string[];
  image?: ImageSpec;
  splits?: SplitRatios;
  activeLearning?: ActiveLearningInput;
}): NewDataset {
  return {
    name: validateDatasetName(input.name),
    classes: validateClasses(input.classes),
    image: validateImageSpec(input.image),
    splits: validateSplitRatios(input.splits),
    activeLearning: validateActiveLearning(input.activeLearning),
  };
}

/** A label must be one of the dataset's classes; the error names the allowed ones. */
export function assertKnownClass(classes: readonly string[], label: string): void {
  if (classes.includes(label)) return;
  const shown =
    classes.length > 20 ? `${classes.slice(0, 20).join(', ')}, ... (${classes.length} in all)` : classes.join(', ');
  throw new InvalidArgumentError(`label "${label}" is not a class of this dataset; allowed: ${shown}`, {
    allowed: classes.slice(0, 1000),
  });
}
