import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError } from '@labelloop/common';
import { makeTempDir, mnistPng, type TempDir } from '@labelloop/testing';
import { readArchiveListing, type ArchiveLimits } from '../src/ingest/archive-listing.js';
import { buildZip, patchCentral, patchName, writeZip, type ZipSpec } from './ingest-fixtures.js';

const limits: ArchiveLimits = {
  maxEntries: 1000,
  maxTotalBytes: 50 * 1024 * 1024,
  maxEntryBytes: 10 * 1024 * 1024,
  maxCompressionRatio: 100,
};
const classes = ['cat', 'dog'];
const noNew = { addMissingClasses: false };

describe('readArchiveListing', () => {
  let tmp: TempDir;
  let pngs: Buffer[];
  let n = 0;
  const zipFile = async (specs: ZipSpec[]) => writeZip(tmp.path, `a${n++}.zip`, await buildZip(specs));
  const img = (name: string, i = 0): ZipSpec => ({ name, data: pngs[i % pngs.length]! });

  before(async () => {
    tmp = makeTempDir('listing');
    pngs = await Promise.all([0, 1, 2, 3].map((i) => mnistPng('test', i)));
  });
  after(() => tmp.remove());

  /** Runs the listing, expects the archive refused, and returns its errors. */
  async function refused(path: string, lim = limits, cls = classes, opts = noNew) {
    const err = await readArchiveListing(path, lim, cls, opts).then(
      () => assert.fail('the archive was accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidArgumentError, String(err));
    const errors = (err.details as { errors: Array<{ fileName: string; code: string; reason: string }> }).errors;
    assert.ok(errors.length > 0);
    for (const e of errors) assert.ok(e.reason.length > 0);
    return { message: err.message, errors };
  }

  describe('layouts', () => {
    it('reads <class>/<file> as labelled, without split', async () => {
      const zip = await zipFile([img('cat/1.png'), img('dog/2.png', 1), { name: 'cat/', directory: true }]);
      const listing = await readArchiveListing(zip, limits, classes, noNew);
      assert.deepEqual(
        listing.entries.map((e) => [e.path, e.fileName, e.className, e.split]),
        [['cat/1.png', '1.png', 'cat', undefined], ['dog/2.png', '2.png', 'dog', undefined]],
      );
      assert.equal(listing.entries[0]!.uncompressedSize, pngs[0]!.length);
      assert.deepEqual(listing.newClasses, []);
      assert.deepEqual(listing.skipped, []);
    });

    it('reads <split>/<class>/<file>, with val as validation', async () => {
      const zip = await zipFile([
        img('train/cat/1.png'), img('validation/dog/2.png'), img('val/cat/3.png'), img('test/dog/4.png'),
      ]);
      const listing = await readArchiveListing(zip, limits, classes, noNew);
      assert.deepEqual(
        listing.entries.map((e) => [e.className, e.split]),
        [['cat', 'train'], ['dog', 'validation'], ['cat', 'validation'], ['dog', 'test']],
      );
    });

    it('reads unlabelled/<file>, <split>/unlabelled/<file> and unassigned/<class>/<file>', async () => {
      const zip = await zipFile([img('unlabelled/1.png'), img('test/unlabelled/2.png'), img('unassigned/cat/3.png')]);
      const listing = await readArchiveListing(zip, limits, classes, noNew);
      assert.deepEqual(
        listing.entries.map((e) => [e.path, e.className, e.split]),
        [['unlabelled/1.png', undefined, undefined], ['test/unlabelled/2.png', undefined, 'test'], ['unassigned/cat/3.png', 'cat', undefined]],
      );
    });

    it('looks through one common wrapper folder', async () => {
      const zip = await zipFile([
        { name: 'DataSet/', directory: true },
        img('DataSet/train/cat/1.png'), img('DataSet/test/dog/2.png'), img('DataSet/unlabelled/3.png'),
        img('DataSet/manifest.csv'),
      ]);
      const listing = await readArchiveListing(zip, limits, classes, noNew);
      assert.deepEqual(
        listing.entries.map((e) => [e.path, e.className, e.split]),
        [['DataSet/train/cat/1.png', 'cat', 'train'], ['DataSet/test/dog/2.png', 'dog', 'test'], ['DataSet/unlabelled/3.png', undefined, undefined]],
      );
      assert.deepEqual(listing.skipped, []);
    });

    it('takes a lone class folder for a class, not a wrapper', async () => {
      const listing = await readArchiveListing(await zipFile([img('cat/1.png'), img('cat/2.png')]), limits, classes, noNew);
      assert.deepEqual(listing.entries.map((e) => e.className), ['cat', 'cat']);
    });

    it('skips directories, __MACOSX, dotfiles and root manifests without reporting them', async () => {
      const zip = await zipFile([
        img('cat/1.png'), { name: '__MACOSX/cat/._1.png' }, { name: 'cat/.DS_Store' }, { name: '.hidden/cat/x.png' },
        { name: 'manifest.csv' }, { name: 'manifest.jsonl' }, { name: 'dog/', directory: true },
      ]);
      const listing = await readArchiveListing(zip, limits, classes, noNew);
      assert.deepEqual(listing.entries.map((e) => e.path), ['cat/1.png']);
      assert.deepEqual(listing.skipped, []);
    });

    it('reports files outside any layout as unexpected_path and keeps the rest', async () => {
      const zip = await zipFile([
        img('cat/1.png'), { name: 'readme.txt' }, img('cat/deeper/2.png'), img('train/3.png'), img('a/b/c/d.png'),
      ]);
      const listing = await readArchiveListing(zip, limits, classes, noNew);
      assert.deepEqual(listing.entries.map((e) => e.path), ['cat/1.png']);
      assert.deepEqual(
        listing.skipped.map((s) => [s.fileName, s.code]),
        [['readme.txt', 'unexpected_path'], ['cat/deeper/2.png', 'unexpected_path'], ['train/3.png', 'unexpected_path'], ['a/b/c/d.png', 'unexpected_path']],
      );
    });

    it('lists unknown class folders as new classes, sorted, when asked to add them', async () => {
      const zip = await zipFile([img('zebra/1.png'), img('train/ant/2.png'), img('cat/3.png'), img('zebra/4.png')]);
      const listing = await readArchiveListing(zip, limits, classes, { addMissingClasses: true });
      assert.deepEqual(listing.newClasses, ['ant', 'zebra']);
      assert.deepEqual(listing.entries.map((e) => e.className), ['zebra', 'ant', 'cat', 'zebra']);
    });
  });

  describe('refuses the whole archive', () => {
    it('for unknown class folders (case-sensitive), naming the entry', async () => {
      const { message, errors } = await refused(await zipFile([img('cat/1.png'), img('Dog/2.png'), img('Dog/3.png')]));
      assert.match(message, /Dog\/2\.png/);
      assert.match(message, /"Dog" is not a class/);
      assert.deepEqual(errors.map((e) => [e.fileName, e.code]), [['Dog/2.png', 'unknown_class']]);
    });

    it('for a path with a ".." segment', async () => {
      const zip = patchName(await buildZip([img('cat/1.png'), img('zz/x.png')]), 'zz/x.png', '../x.png');
      const { message, errors } = await refused(await writeZip(tmp.path, 'dotdot.zip', zip));
      assert.match(message, /"\.\.\/x\.png"/);
      assert.deepEqual(errors.map((e) => [e.fileName, e.code]), [['../x.png', 'parent_path']]);
    });

    it('for absolute paths and drive letters', async () => {
      let zip = await buildZip([img('cat/1.png'), img('Xetc/x.png'), img('C_/y.png')]);
      zip = patchName(patchName(zip, 'Xetc/x.png', '/etc/x.png'), 'C_/y.png', 'C:/y.png');
      const { errors } = await refused(await writeZip(tmp.path, 'abs.zip', zip));
      assert.deepEqual(errors.map((e) => [e.fileName, e.code]), [['/etc/x.png', 'absolute_path'], ['C:/y.png', 'absolute_path']]);
    });

    it('for backslashes in a name', async () => {
      const zip = patchName(await buildZip([img('cat_1.png')]), 'cat_1.png', 'cat\\1.png');
      const { errors } = await refused(await writeZip(tmp.path, 'backslash.zip', zip));
      assert.deepEqual(errors.map((e) => [e.fileName, e.code]), [['cat\\1.png', 'backslash_in_path']]);
    });

    it('for a symlink entry', async () => {
      const zip = await zipFile([img('cat/1.png'), { name: 'cat/link.png', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]);
      const { errors } = await refused(zip);
      assert.deepEqual(errors.map((e) => [e.fileName, e.code]), [['cat/link.png', 'symlink']]);
    });

    it('for an encrypted entry', async () => {
      const zip = patchCentral(await buildZip([img('cat/1.png'), img('cat/2.png')]), 1, { flags: 0x0809 });
      const { errors } = await refused(await writeZip(tmp.path, 'encrypted.zip', zip));
      assert.deepEqual(errors.map((e) => [e.fileName, e.code]), [['cat/2.png', 'encrypted']]);
    });

    it('for a file that is not a ZIP', async () => {
      const path = join(tmp.path, 'not-a-zip.zip');
      await writeFile(path, 'cat,1.png\n'.repeat(50));
      const { errors } = await refused(path);
      assert.deepEqual(errors.map((e) => e.code), ['not_a_zip']);
      await writeFile(path, '');
      assert.deepEqual((await refused(path)).errors.map((e) => e.code), ['not_a_zip']);
    });

    it('for a damaged central directory', async () => {
      const zip = patchCentral(await buildZip([img('cat/1.png'), img('cat/2.png')]), 1, { signature: 0x12345678 });
      const { message, errors } = await refused(await writeZip(tmp.path, 'corrupt.zip', zip));
      assert.deepEqual(errors.map((e) => e.code), ['corrupt_archive']);
      assert.match(message, /damaged/);
    });

    it('for more entries than maxEntries', async () => {
      const zip = await zipFile([img('cat/1.png'), img('cat/2.png'), img('cat/3.png')]);
      const { errors } = await refused(zip, { ...limits, maxEntries: 2 });
      assert.deepEqual(errors.map((e) => e.code), ['too_many_entries']);
    });

    it('for a ZIP bomb: a highly compressed entry', async () => {
      // 20 MiB of zeros deflates to about 20 KiB: a ratio near 1000:1.
      const zip = await zipFile([img('cat/1.png'), { name: 'cat/bomb.png', data: Buffer.alloc(20 * 1024 * 1024) }]);
      const { errors } = await refused(zip, { ...limits, maxEntryBytes: 100 * 1024 * 1024 });
      assert.deepEqual(errors.map((e) => [e.fileName, e.code]), [['cat/bomb.png', 'compression_ratio']]);
    });

    it('for a ZIP bomb: declared sizes over the entry and total limits', async () => {
      const zip = patchCentral(await buildZip([img('cat/1.png'), img('cat/2.png')]), 1, { uncompressedSize: 0xfffffff0 });
      const { errors } = await refused(await writeZip(tmp.path, 'declared.zip', zip));
      assert.deepEqual(errors.map((e) => [e.fileName, e.code]), [
        ['cat/2.png', 'entry_too_large'],
        ['', 'too_large'],
      ]);
    });

    it('for a sum of sizes over maxTotalBytes', async () => {
      const zip = await zipFile([img('cat/1.png', 0), img('cat/2.png', 1), img('dog/3.png', 2)]);
      const { errors } = await refused(zip, { ...limits, maxTotalBytes: pngs[0]!.length + 10 });
      assert.deepEqual(errors.map((e) => e.code), ['too_large']);
    });

    it('for an archive without image files', async () => {
      const zip = await zipFile([{ name: '__MACOSX/._x' }, { name: '.DS_Store' }, { name: 'manifest.csv' }, { name: 'notes.txt' }]);
      const { errors } = await refused(zip);
      assert.deepEqual(errors.map((e) => e.code), ['no_images']);
    });

    it('reporting every problem, not just the first', async () => {
      let zip = await buildZip([img('zz/a.png'), { name: 'cat/l.png', data: Buffer.from('x'), mode: 0o120777 }, img('bird/1.png')]);
      zip = patchName(zip, 'zz/a.png', '../a.png');
      const { message, errors } = await refused(await writeZip(tmp.path, 'many.zip', zip));
      assert.match(message, /and 1 more problems/);
      assert.deepEqual(errors.map((e) => e.code), ['parent_path', 'symlink']);
    });
  });
});
