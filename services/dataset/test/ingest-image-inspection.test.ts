import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { InvalidArgumentError } from '@labelloop/common';
import { mnistPng } from '@labelloop/testing';
import sharp from 'sharp';
import { ImageRejectedError, inspectImage } from '../src/ingest/image-inspection.js';

const limits = { maxBytes: 5 * 1024 * 1024, maxPixels: 4096 * 4096 };

async function rejection(bytes: Buffer, lim = limits): Promise<ImageRejectedError> {
  const err = await inspectImage(bytes, lim).then(
    () => assert.fail('the image was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ImageRejectedError, `expected ImageRejectedError, got ${String(err)}`);
  assert.ok(err instanceof InvalidArgumentError);
  assert.ok(err.reason.length > 0);
  assert.deepEqual(err.details, { code: err.code, reason: err.reason });
  return err;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('inspectImage', () => {
  let png: Buffer;
  before(async () => {
    png = await mnistPng('test', 0);
  });

  it('accepts PNG, JPEG and WebP with their dimensions, channels and sha256', async () => {
    // A non-square image tells width from height.
    const wide = await sharp(png).resize(56, 28).toColourspace('b-w').png().toBuffer();
    const jpeg = await sharp(png).resize(40, 28).jpeg().toBuffer();
    const webp = await sharp(png).resize(28, 50).webp({ lossless: true }).toBuffer();
    const cases = [
      { bytes: png, format: 'png', width: 28, height: 28, channels: 1 },
      { bytes: wide, format: 'png', width: 56, height: 28, channels: 1 },
      { bytes: jpeg, format: 'jpeg', width: 40, height: 28, channels: 3 },
      { bytes: webp, format: 'webp', width: 28, height: 50, channels: 3 },
    ];
    for (const c of cases) {
      const info = await inspectImage(c.bytes, limits);
      assert.deepEqual(info, {
        format: c.format,
        width: c.width,
        height: c.height,
        channels: c.channels,
        sha256: sha256(c.bytes),
      });
    }
  });

  it('refuses an empty file', async () => {
    assert.equal((await rejection(Buffer.alloc(0))).code, 'empty_file');
  });

  it('refuses a file over maxBytes before decoding it', async () => {
    const err = await rejection(png, { ...limits, maxBytes: png.length - 1 });
    assert.equal(err.code, 'too_large');
    assert.match(err.reason, new RegExp(`${png.length - 1}`));
    // Size comes first: even garbage over the limit is too_large, not not_an_image.
    assert.equal((await rejection(Buffer.alloc(100, 1), { ...limits, maxBytes: 10 })).code, 'too_large');
  });

  it('refuses a text file as not an image', async () => {
    const err = await rejection(Buffer.from('label,file\ncat,1.png\n'));
    assert.equal(err.code, 'not_an_image');
  });

  it('refuses GIF, TIFF and SVG as unsupported formats', async () => {
    const gif = await sharp(png).gif().toBuffer();
    const tiff = await sharp(png).tiff().toBuffer();
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');
    for (const [bytes, name] of [[gif, 'GIF'], [tiff, 'TIFF'], [svg, 'SVG']] as const) {
      const err = await rejection(bytes);
      assert.equal(err.code, 'unsupported_format');
      assert.match(err.reason, new RegExp(name));
    }
  });

  it('refuses truncated PNG, JPEG and WebP files', async () => {
    const jpeg = await sharp(png).jpeg().toBuffer();
    const webp = await sharp(png).webp().toBuffer();
    for (const bytes of [png, jpeg, webp]) {
      const err = await rejection(bytes.subarray(0, Math.floor(bytes.length * 0.7)));
      assert.equal(err.code, 'corrupt_image');
    }
    // Cut only the last few bytes (IEND and part of IDAT's CRC): still caught.
    assert.equal((await rejection(png.subarray(0, png.length - 14))).code, 'corrupt_image');
  });

  it('refuses a PNG whose compressed pixels were damaged', async () => {
    const idat = png.indexOf('IDAT');
    assert.ok(idat > 0);
    const damaged = Buffer.from(png);
    for (let i = idat + 8; i < idat + 40; i++) damaged[i]! ^= 0xff;
    assert.equal((await rejection(damaged)).code, 'corrupt_image');
  });

  it('refuses polyglots: PNG, JPEG and WebP with anything after the image', async () => {
    const jpeg = await sharp(png).jpeg().toBuffer();
    const webp = await sharp(png).webp().toBuffer();
    const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(40, 7), Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]);
    const script = Buffer.from('<script>alert(document.cookie)</script>');
    for (const [image, name] of [[png, 'PNG'], [jpeg, 'JPEG'], [webp, 'WebP']] as const) {
      for (const tail of [zip, script, Buffer.from([0])]) {
        const err = await rejection(Buffer.concat([image, tail]));
        assert.equal(err.code, 'trailing_data', `${name} + ${tail.length} bytes`);
        assert.match(err.reason, new RegExp(`${tail.length} bytes after the end of its ${name} image`));
      }
      // The image alone is fine.
      await inspectImage(image, limits);
    }
  });

  it('refuses a decompression bomb from its header', async () => {
    // 20000×20000 of one grey: 400 MB of pixels in a file of a few hundred KB.
    const bomb = await sharp(Buffer.alloc(20000 * 20000), {
      limitInputPixels: false,
      raw: { width: 20000, height: 20000, channels: 1 },
    })
      .toColourspace('b-w')
      .png({ compressionLevel: 9, adaptiveFiltering: false })
      .toBuffer();
    assert.ok(bomb.length < 1024 * 1024, `bomb is ${bomb.length} bytes`);
    const started = process.hrtime.bigint();
    const err = await rejection(bomb, { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000 });
    assert.equal(err.code, 'too_many_pixels');
    assert.match(err.reason, /50000000 pixels/);
    // Refused from the header: decoding 400 MP would take seconds.
    assert.ok(process.hrtime.bigint() - started < 500_000_000n);
  });
});
