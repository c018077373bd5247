import type { Rng } from '@labelloop/common';
import { assertImageSpec, type ImageBatch, type ImageSpec, imageBytes } from './image-spec.js';

export type AugmentKind = 'digits' | 'photos';

export interface AugmentOptions {
  /** digits: largest shift in pixels, each direction (default 2). */
  maxShift?: number;
  /** digits: largest rotation in degrees, each direction (default 0: shifts only, which keep pixels exact). */
  maxRotationDeg?: number;
  /** photos: horizontal flip with probability 1/2 (default true). */
  flip?: boolean;
  /** photos: zero padding before the random crop back to size, in pixels (default ⌊min(w, h)/8⌋, 4 at 32×32). */
  pad?: number;
  /** photos: brightness factor drawn from [1 − b, 1 + b] (default 0.2, torchvision's ColorJitter convention). */
  brightness?: number;
}

/**
 * Random label-preserving transforms of a uint8 NHWC batch, in place, drawn from `rng` (so a seeded run
 * repeats exactly). 'digits': small shifts (± maxShift px, zero fill) and optionally a small rotation;
 * 'photos': horizontal flip, pad-and-crop (a shift by up to `pad` px with zero fill) and brightness.
 */
export function augment(batch: ImageBatch, spec: ImageSpec, kind: AugmentKind, rng: Rng, options: AugmentOptions = {}): ImageBatch {
  assertImageSpec(spec);
  const size = imageBytes(spec);
  if (batch.x.length < batch.n * size) throw new RangeError(`batch x has ${batch.x.length} bytes, fewer than n·h·w·c = ${batch.n * size}`);
  const scratch = new Uint8Array(size);
  for (let i = 0; i < batch.n; i++) {
    const image = batch.x.subarray(i * size, (i + 1) * size);
    scratch.set(image);
    if (kind === 'digits') {
      const maxShift = options.maxShift ?? 2;
      const dx = rng.int(2 * maxShift + 1) - maxShift;
      const dy = rng.int(2 * maxShift + 1) - maxShift;
      const angle = ((options.maxRotationDeg ?? 0) * (2 * rng.next() - 1) * Math.PI) / 180;
      if (angle === 0) shiftFlip(scratch, image, spec, dx, dy, false);
      else rotateShift(scratch, image, spec, angle, dx, dy);
    } else if (kind === 'photos') {
      const pad = options.pad ?? Math.floor(Math.min(spec.width, spec.height) / 8);
      const flip = (options.flip ?? true) && rng.next() < 0.5;
      const dx = rng.int(2 * pad + 1) - pad;
      const dy = rng.int(2 * pad + 1) - pad;
      const b = options.brightness ?? 0.2;
      const factor = 1 + b * (2 * rng.next() - 1);
      shiftFlip(scratch, image, spec, dx, dy, flip);
      if (factor !== 1) scaleBrightness(image, factor);
    } else {
      throw new RangeError(`unknown augmentation kind ${String(kind)}`);
    }
  }
  return batch;
}

/** out[r][c] = src[r − dy][c − dx] of the (optionally mirrored) image; zero where that falls outside. */
function shiftFlip(src: Uint8Array, out: Uint8Array, spec: ImageSpec, dx: number, dy: number, flip: boolean): void {
  const { width: w, height: h, channels: ch } = spec;
  for (let r = 0; r < h; r++) {
    const sr = r - dy;
    for (let c = 0; c < w; c++) {
      const shifted = c - dx;
      const sc = flip ? w - 1 - shifted : shifted;
      const o = (r * w + c) * ch;
      if (sr < 0 || sr >= h || shifted < 0 || shifted >= w) {
        for (let k = 0; k < ch; k++) out[o + k] = 0;
      } else {
        const s = (sr * w + sc) * ch;
        for (let k = 0; k < ch; k++) out[o + k] = src[s + k]!;
      }
    }
  }
}

/** Rotation by `angle` about the centre, then a shift; bilinear sampling, zero outside. */
function rotateShift(src: Uint8Array, out: Uint8Array, spec: ImageSpec, angle: number, dx: number, dy: number): void {
  const { width: w, height: h, channels: ch } = spec;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const at = (r: number, c: number, k: number): number => (r < 0 || r >= h || c < 0 || c >= w ? 0 : src[(r * w + c) * ch + k]!);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      // Inverse map: undo the shift, then rotate by −angle.
      const u = c - dx - cx;
      const v = r - dy - cy;
      const sc = cos * u + sin * v + cx;
      const sr = -sin * u + cos * v + cy;
      const c0 = Math.floor(sc);
      const r0 = Math.floor(sr);
      const fc = sc - c0;
      const fr = sr - r0;
      for (let k = 0; k < ch; k++) {
        const top = at(r0, c0, k) * (1 - fc) + at(r0, c0 + 1, k) * fc;
        const bottom = at(r0 + 1, c0, k) * (1 - fc) + at(r0 + 1, c0 + 1, k) * fc;
        out[(r * w + c) * ch + k] = Math.round(top * (1 - fr) + bottom * fr);
      }
    }
  }
}

function scaleBrightness(image: Uint8Array, factor: number): void {
  for (let i = 0; i < image.length; i++) image[i] = Math.min(255, Math.round(image[i]! * factor));
}
