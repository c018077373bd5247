import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, mnistPng, type TempDir } from '@labelloop/testing';
import { readArchiveListing, type ArchiveLimits } from '../src/ingest/archive-listing.js';
import { readArchiveEntries, type ArchiveEntryResult } from '../src/ingest/archive-reader.js';
import { buildZip, patchCentral, writeZip } from './ingest-fixtures.js';

const limits: ArchiveLimits = {
  maxEntries: 100,
  maxTotalBytes: 10 * 1024 * 1024,
  maxEntryBytes: 1024 * 1024,
  maxCompressionRatio: 100,
};
const classes = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** File descriptors of this process open on `path` (Linux). */
function openFds(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

async function readAll(path: string): Promise<ArchiveEntryResult[]> {
  const listing = await readArchiveListing(path, limits, classes, { addMissingClasses: false });
  const results: ArchiveEntryResult[] = [];
  for await (const result of readArchiveEntries(path, listing)) results.push(result);
  return results;
}

describe('readArchiveEntries', () => {
  let tmp: TempDir;
  let pngs: Buffer[];
  before(async () => {
    tmp = makeTempDir('reader');
    pngs = await Promise.all([0, 1, 2].map((i) => mnistPng('train', i)));
  });
  after(() => tmp.remove());

  it('yields the bytes of each listed entry, in archive order, and nothing else', async () => {
    const zip = await buildZip([
      { name: 'train/5/a.png', data: pngs[0]!, compress: true },
      { name: 'readme.txt', data: Buffer.from('not listed') },
      { name: '__MACOSX/5/._a.png', data: Buffer.from('junk') },
      { name: 'test/0/b.png', data: pngs[1]!, compress: false },
      { name: 'unlabelled/c.png', data: pngs[2]! },
    ]);
    const results = await readAll(await writeZip(tmp.path, 'ok.zip', zip));
    assert.deepEqual(results.map((r) => [r.entry.path, r.entry.className, r.entry.split, r.error]), [
      ['train/5/a.png', '5', 'train', undefined],
      ['test/0/b.png', '0', 'test', undefined],
      ['unlabelled/c.png', undefined, undefined, undefined],
    ]);
    results.forEach((r, i) => assert.ok(r.bytes?.equals(pngs[i]!), `bytes of ${r.entry.path}`));
  });

  it('reports a damaged stored entry and goes on with the next', async () => {
    const zip = await buildZip([
      { name: '5/a.png', data: pngs[0]!, compress: false },
      { name: '0/b.png', data: pngs[1]!, compress: false },
      { name: '4/c.png', data: pngs[2]!, compress: false },
    ]);
    const at = zip.indexOf(pngs[1]!);
    zip[at + 100]! ^= 0xff; // same length, different bytes: only the CRC notices
    const results = await readAll(await writeZip(tmp.path, 'stored.zip', zip));
    assert.deepEqual(results.map((r) => [r.entry.path, r.error?.code, r.error?.fileName]), [
      ['5/a.png', undefined, undefined],
      ['0/b.png', 'corrupt_entry', '0/b.png'],
      ['4/c.png', undefined, undefined],
    ]);
    assert.match(results[1]!.error!.reason, /CRC/);
    assert.ok(results[2]!.bytes!.equals(pngs[2]!));
  });

  it('reports a deflated entry that does not inflate, or inflates past its declared size', async () => {
    const big = Buffer.concat([pngs[0]!, pngs[1]!, pngs[2]!, pngs[0]!]);
    let zip = await buildZip([
      { name: '5/a.png', data: big, compress: true },
      { name: '0/b.png', data: pngs[1]!, compress: true },
      { name: '4/c.png', data: pngs[2]!, compress: true },
    ]);
    // Entry 0: garble its compressed data (it starts after the 30-byte header and the name).
    const dataStart = 30 + '5/a.png'.length;
    for (let i = dataStart; i < dataStart + 40; i++) zip[i]! ^= 0x5a;
    // Entry 1: declare fewer bytes than it really holds.
    zip = patchCentral(zip, 1, { uncompressedSize: 50 });
    const results = await readAll(await writeZip(tmp.path, 'deflated.zip', zip));
    assert.deepEqual(results.map((r) => [r.entry.path, r.error?.code]), [
      ['5/a.png', 'corrupt_entry'],
      ['0/b.png', 'corrupt_entry'],
      ['4/c.png', undefined],
    ]);
    assert.ok(results[2]!.bytes!.equals(pngs[2]!));
  });

  it('stops reading and closes when the consumer stops early', async () => {
    const zip = await buildZip(pngs.map((data, i) => ({ name: `7/${i}.png`, data })));
    const path = await writeZip(tmp.path, 'early.zip', zip);
    const listing = await readArchiveListing(path, limits, classes, { addMissingClasses: false });
    const seen: string[] = [];
    for await (const { entry } of readArchiveEntries(path, listing)) {
      seen.push(entry.path);
      assert.equal(openFds(path), 1);
      break;
    }
    assert.deepEqual(seen, ['7/0.png']);
    for (let i = 0; i < 50 && openFds(path) > 0; i++) await sleep(10);
    assert.equal(openFds(path), 0, 'the archive is closed');
  });
});
