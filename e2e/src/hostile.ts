// Hostile inputs for e2e/test/hostile-input.test.ts: damaged and disguised images, archives no
// honest tool writes, raw gRPC frames, and the ledger that proves nothing was stored.
import { crc32, deflateRawSync, deflateSync } from 'node:zlib';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { EMBEDDED_S3_CREDENTIALS } from '@labelloop/embedded';
import { S3BlobStore, type Database } from '@labelloop/storage';
import type { Api } from './api.js';

// ---------------------------------------------------------------- images

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A well-formed PNG whose header claims width × height grey pixels, with one tiny IDAT. */
export function pixelBombPng(width = 100_000, height = 100_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 0;
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(width + 1))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The PNG with its compressed pixels flipped (CRCs left as they were). */
export function corruptPng(png: Buffer): Buffer {
  const damaged = Buffer.from(png);
  const idat = damaged.indexOf('IDAT');
  for (let i = idat + 8; i < Math.min(idat + 40, damaged.length - 12); i++) damaged[i]! ^= 0xff;
  return damaged;
}

export const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
export const HTML_AS_PNG = Buffer.from('<!doctype html><html><body><script>fetch("/v1/api-keys")</script></body></html>\n');
export const SVG_WITH_SCRIPT = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><script>alert(1)</script></svg>',
);
export const FAKE_JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('not really a jpeg at all '.repeat(20))]);

// ---------------------------------------------------------------- archives

export interface RawZipEntry {
  name: string;
  content: Buffer;
  deflate?: boolean;
  /** Unix mode in the external attributes, e.g. 0o120777 for a symlink. */
  mode?: number;
  /** General-purpose flags (bit 0: encrypted). */
  flags?: number;
}

/** A ZIP written byte by byte: any name, mode or flag, as no honest tool would. */
export function rawZip(entries: readonly RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const packed = entry.deflate ? deflateRawSync(entry.content) : entry.content;
    // An encrypted entry starts with its 12-byte encryption header.
    const data = (entry.flags ?? 0) & 1 ? Buffer.concat([Buffer.alloc(12, 0x5a), packed]) : packed;
    const method = entry.deflate ? 8 : 0;
    const flags = 0x0800 | (entry.flags ?? 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc32(entry.content), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(entry.content.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(entry.mode === undefined ? 20 : (3 << 8) | 20, 4); // made by: unix when a mode is set
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc32(entry.content), 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(entry.content.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((entry.mode ?? 0) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const size = centrals.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

// ---------------------------------------------------------------- raw gRPC

export interface RawOutcome {
  code: number;
  details: string;
  response?: Buffer;
}

const identity = (bytes: Buffer) => bytes;

/** One unary call with `bytes` as the request frame, exactly as given. */
export function rawUnary(address: string, method: string, bytes: Buffer, token?: string): Promise<RawOutcome> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, identity, identity, bytes, metadata, { deadline: Date.now() + 15_000 }, (err: ServiceError | null, value?: Buffer) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '', response: value });
    });
  });
}

/** A client stream of the given raw frames. */
export function rawClientStream(address: string, method: string, frames: Buffer[], token?: string): Promise<RawOutcome> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest(method, identity, identity, metadata, { deadline: Date.now() + 15_000 }, (err: ServiceError | null, value?: Buffer) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '', response: value });
    });
    for (const frame of frames) call.write(frame);
    call.end();
  });
}

// ---------------------------------------------------------------- the ledger

/** Tables whose rows come and go on their own (event plumbing), left out of the row counts. */
const PLUMBING = /outbox|processed|migrations/;

export interface Ledger {
  /** Object count in the bucket. */
  objects: number;
  /** schema.table → rows, when the system runs on a PostgreSQL the test can read. */
  rows: Record<string, number>;
  /** What the REST API itself reports, always. */
  api: Record<string, number>;
}

export class LedgerReader {
  private readonly blobs: S3BlobStore;

  constructor(
    s3Endpoint: string,
    private readonly admin: Api,
    private readonly db: Database | undefined,
  ) {
    this.blobs = new S3BlobStore({
      endpoint: s3Endpoint,
      region: 'us-east-1',
      bucket: 'labelloop',
      ...EMBEDDED_S3_CREDENTIALS,
      forcePathStyle: true,
    });
  }

  async read(): Promise<Ledger> {
    let objects = 0;
    for await (const _ of this.blobs.list('')) objects += 1;
    const rows: Record<string, number> = {};
    if (this.db) {
      const { rows: tables } = await this.db.query<{ schema: string; name: string }>(
        `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
          WHERE table_schema IN ('dataset', 'gateway', 'training') AND table_type = 'BASE TABLE'`,
      );
      for (const { schema, name } of tables) {
        if (PLUMBING.test(name)) continue;
        const { rows: counted } = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}"."${name}"`);
        rows[`${schema}.${name}`] = counted[0]!.n;
      }
    }
    const api: Record<string, number> = {};
    for (const deleted of [false, true]) {
      const page = await this.admin.get(`/v1/datasets?limit=1000${deleted ? '&deleted=true' : ''}`);
      api[deleted ? 'deleted datasets' : 'datasets'] = page.body.datasets.length;
      if (deleted) continue;
      for (const dataset of page.body.datasets as Array<{ id: string; name: string }>) {
        const { body } = await this.admin.get(`/v1/datasets/${dataset.id}`);
        api[`${dataset.name}: items`] = body.statistics.totalItems;
        for (const [source, n] of Object.entries(body.statistics.bySource as Record<string, number>)) {
          api[`${dataset.name}: ${source} labels`] = n;
        }
        api[`${dataset.name}: classes`] = body.classes.length;
        // Label history rows, item by item (the datasets of the hostile suite are small).
        let history = 0;
        const items = await this.admin.get(`/v1/datasets/${dataset.id}/items?limit=1000`);
        for (const item of items.body.items as Array<{ id: string }>) {
          history += (await this.admin.get(`/v1/items/${item.id}/labels`)).body.events.length;
        }
        api[`${dataset.name}: label history`] = history;
      }
    }
    api['api keys'] = (await this.admin.get('/v1/api-keys')).body.apiKeys.length;
    return { objects, rows, api };
  }

  async close(): Promise<void> {
    await this.blobs.close();
  }
}
