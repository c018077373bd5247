import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@labelloop/common';
import sharp, { type Metadata } from 'sharp';
import { sniffImageFormat, trailingBytes, type AcceptedFormat } from './image-signature.js';

// Every uploaded image is checked here, fully decoded, before anything is stored: a file that
// passes has a known format and size and decodes without error.

export interface ImageInfo {
  format: AcceptedFormat;
  width: number;
  height: number;
  channels: number;
  /** Hex SHA-256 of the file bytes as uploaded. */
  sha256: string;
}

export interface ImageLimits {
  /** Largest accepted file, in bytes. */
  maxBytes: number;
  /** Largest accepted width × height; bigger images are refused from their header alone. */
  maxPixels: number;
}

export type ImageRejectionCode =
  | 'empty_file'
  | 'too_large'
  | 'not_an_image'
  | 'unsupported_format'
  | 'corrupt_image'
  | 'too_many_pixels'
  | 'trailing_data';

export class ImageRejectedError extends InvalidArgumentError {
  constructor(
    readonly code: ImageRejectionCode,
    /** Plain words for the person who uploaded the file. */
    readonly reason: string,
  ) {
    super(`image rejected: ${reason}`, { code, reason });
  }
}

const PIXEL_LIMIT_MESSAGE = /exceeds pixel limit/i;
const FORMAT_NAMES: Record<AcceptedFormat, string> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP' };

export async function inspectImage(bytes: Buffer, limits: ImageLimits): Promise<ImageInfo> {
  // sharp reads a pixel limit of 0 as "no limit": never pass one through by accident.
  if (!Number.isInteger(limits.maxPixels) || limits.maxPixels < 1) {
    throw new RangeError('maxPixels must be a positive integer');
  }
  if (bytes.length === 0) throw new ImageRejectedError('empty_file', 'the file is empty');
  if (bytes.length > limits.maxBytes) {
    throw new ImageRejectedError(
      'too_large',
      `the file is ${bytes.length} bytes; the limit is ${limits.maxBytes} bytes`,
    );
  }
  const signature = sniffImageFormat(bytes);
  if (signature.kind === 'other_image') {
    throw new ImageRejectedError(
      'unsupported_format',
      `${signature.format} images are not accepted; use JPEG, PNG or WebP`,
    );
  }
  if (signature.kind === 'unknown') {
    throw new ImageRejectedError('not_an_image', 'the file is not a JPEG, PNG or WebP image');
  }
  // Decoders stop at the image's end and ignore the rest: bytes after it would make a polyglot
  // (an image that is also a ZIP, a script...) that we would store and later serve as an image.
  const trailing = trailingBytes(bytes, signature.format);
  if (trailing > 0) {
    throw new ImageRejectedError(
      'trailing_data',
      `the file has ${trailing} bytes after the end of its ${FORMAT_NAMES[signature.format]} image; a file with something appended to an image is refused`,
    );
  }

  // limitInputPixels makes sharp refuse a decompression bomb from its header, before it
  // allocates anything; failOn 'error' turns truncated or damaged data into a failure
  // instead of a silently grey-filled image.
  const options = { limitInputPixels: limits.maxPixels, failOn: 'error' as const, sequentialRead: true };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, options).metadata();
    if (meta.format !== signature.format) throw new Error(`decoded as ${meta.format}`);
    // Decode every pixel: only a full decode finds damage past the header.
    await sharp(bytes, options).raw().toBuffer();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (PIXEL_LIMIT_MESSAGE.test(message)) {
      throw new ImageRejectedError(
        'too_many_pixels',
        `the image has more than ${limits.maxPixels} pixels`,
      );
    }
    throw new ImageRejectedError('corrupt_image', `the ${FORMAT_NAMES[signature.format]} file is damaged or truncated`);
  }

  return {
    format: signature.format,
    width: meta.width,
    height: meta.height,
    // The image's own channels (1 for greyscale), not those of sharp's sRGB output.
    channels: meta.channels,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}
