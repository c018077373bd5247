// Recognises an image format from its first bytes, so that only JPEG, PNG and WebP ever
// reach the decoder: SVG, TIFF, HEIF and friends are refused without being parsed.

export type AcceptedFormat = 'jpeg' | 'png' | 'webp';

export type Signature =
  | { kind: 'accepted'; format: AcceptedFormat }
  | { kind: 'other_image'; format: string }
  | { kind: 'unknown' };

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function startsWith(bytes: Buffer, prefix: string | Buffer, offset = 0): boolean {
  const p = typeof prefix === 'string' ? Buffer.from(prefix, 'latin1') : prefix;
  return bytes.length >= offset + p.length && bytes.subarray(offset, offset + p.length).equals(p);
}

/** Image formats we recognise but do not accept, by their magic bytes. */
const OTHER_IMAGES: ReadonlyArray<{ format: string; test: (b: Buffer) => boolean }> = [
  { format: 'GIF', test: (b) => startsWith(b, 'GIF87a') || startsWith(b, 'GIF89a') },
  { format: 'TIFF', test: (b) => startsWith(b, 'II*\0') || startsWith(b, 'MM\0*') },
  { format: 'BMP', test: (b) => startsWith(b, 'BM') && b.length > 14 },
  { format: 'ICO', test: (b) => startsWith(b, Buffer.from([0, 0, 1, 0])) },
  { format: 'PSD', test: (b) => startsWith(b, '8BPS') },
  { format: 'PDF', test: (b) => startsWith(b, '%PDF') },
  { format: 'JPEG 2000', test: (b) => startsWith(b, Buffer.from([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20])) },
  { format: 'JPEG XL', test: (b) => startsWith(b, Buffer.from([0xff, 0x0a])) || startsWith(b, 'JXL ', 4) },
  // ISO-BMFF brands used by HEIC and AVIF.
  { format: 'HEIF/AVIF', test: (b) => startsWith(b, 'ftyp', 4) && /^(heic|heix|hevc|mif1|msf1|avif|avis)$/.test(b.toString('latin1', 8, 12)) },
  { format: 'SVG', test: looksLikeSvg },
];

function looksLikeSvg(bytes: Buffer): boolean {
  const head = bytes.toString('utf8', 0, Math.min(bytes.length, 4096)).replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<') && /<svg[\s>]/i.test(head);
}

export function sniffImageFormat(bytes: Buffer): Signature {
  if (startsWith(bytes, Buffer.from([0xff, 0xd8, 0xff]))) return { kind: 'accepted', format: 'jpeg' };
  if (startsWith(bytes, PNG_MAGIC)) return { kind: 'accepted', format: 'png' };
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) return { kind: 'accepted', format: 'webp' };
  const other = OTHER_IMAGES.find((o) => o.test(bytes));
  return other ? { kind: 'other_image', format: other.format } : { kind: 'unknown' };
}

/**
 * Bytes after the end of the image: after PNG's IEND chunk, after JPEG's last EOI marker, after
 * the RIFF chunk of a WebP. 0 when the file ends with its image, or when its structure is too
 * damaged to tell (the decoder then refuses it as corrupt).
 */
export function trailingBytes(bytes: Buffer, format: AcceptedFormat): number {
  if (format === 'png') {
    let at = PNG_MAGIC.length;
    while (at + 12 <= bytes.length) {
      const length = bytes.readUInt32BE(at);
      const end = at + 12 + length;
      if (end > bytes.length) return 0;
      if (bytes.toString('latin1', at + 4, at + 8) === 'IEND') return bytes.length - end;
      at = end;
    }
    return 0;
  }
  if (format === 'jpeg') {
    const eoi = bytes.lastIndexOf(Buffer.from([0xff, 0xd9]));
    return eoi < 0 ? 0 : bytes.length - (eoi + 2);
  }
  // RIFF: 'RIFF', little-endian size of what follows the first 8 bytes, padded to even.
  if (bytes.length < 12) return 0;
  const size = bytes.readUInt32LE(4);
  const end = 8 + size + (size % 2);
  return end < bytes.length ? bytes.length - end : 0;
}
