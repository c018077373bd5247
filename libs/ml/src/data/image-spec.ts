// The size every image of a dataset is decoded to: what the model's input layer expects.

export interface ImageSpec {
  width: number;
  height: number;
  /** 1 = greyscale, 3 = RGB. */
  channels: 1 | 3;
}

/** Bytes of one decoded uint8 image (h·w·c). */
export function imageBytes(spec: ImageSpec): number {
  return spec.width * spec.height * spec.channels;
}

export function assertImageSpec(spec: ImageSpec): void {
  const ok =
    Number.isInteger(spec.width) &&
    spec.width > 0 &&
    Number.isInteger(spec.height) &&
    spec.height > 0 &&
    (spec.channels === 1 || spec.channels === 3);
  if (!ok) {
    throw new RangeError(
      `image spec needs positive integer width/height and 1 or 3 channels, got ${JSON.stringify(spec)}`,
    );
  }
}

/** One uint8 NHWC batch: x holds n·h·w·c bytes, y the class indices. */
export interface ImageBatch {
  x: Uint8Array;
  y: Int32Array;
  n: number;
}
