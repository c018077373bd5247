import sharp from 'sharp';
import { type ImageSpec, imageBytes } from './image-spec.js';

/**
 * Decodes one image (any format sharp reads: PNG, JPEG, WebP, GIF, TIFF, AVIF...) to uint8 HWC pixels of
 * the spec's size. Choices: EXIF orientation is applied; transparency is flattened onto black (sharp's
 * default, and MNIST-style digits are light on dark); the image is stretched to the exact size
 * (`fit: 'fill'`), not cropped, so no part of the object is cut away; colour images become greyscale
 * for 1 channel and greyscale images are repeated to RGB for 3. Throws on bytes sharp cannot decode.
 */
export async function decodeImage(bytes: Buffer | Uint8Array, spec: ImageSpec): Promise<Uint8Array> {
  let pipeline = sharp(bytes).autoOrient().flatten();
  pipeline = spec.channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline
    .resize(spec.width, spec.height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== spec.channels || data.length !== imageBytes(spec)) {
    throw new Error(
      `decoded image has ${info.width}×${info.height}×${info.channels}, expected ${spec.width}×${spec.height}×${spec.channels}`,
    );
  }
  return data;
}
