// Bad image files for upload tests, next to the real MNIST PNGs from @labelloop/testing.
import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/**
 * A decompression bomb: a well-formed PNG whose header claims width × height pixels
 * (grey, 8 bit), with a tiny IDAT. A decoder that trusts the header would allocate
 * width × height bytes.
 */
export function pixelBombPng(width = 100_000, height = 100_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(width + 1))), // one row of many
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first half of a real PNG: a valid signature and header, then nothing. */
export function truncated(png: Buffer): Buffer {
  return png.subarray(0, Math.floor(png.length / 2));
}
