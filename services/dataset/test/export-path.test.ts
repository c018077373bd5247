import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportPath, safePathSegment } from '../src/export/export-path.js';
import type { ExportRow } from '../src/export/export-row.js';

function row(overrides: Partial<ExportRow>): ExportRow {
  return {
    itemId: 'item-1',
    fileName: '1.png',
    sha256: 'aaaaaaaa' + '0'.repeat(56),
    label: 'cat',
    labelSource: 'human',
    modelVersion: '',
    confidence: null,
    split: 'train',
    labeledAt: new Date('2024-05-01T00:00:00Z'),
    ...overrides,
  };
}

/** The paths of rows in export order, each given the previous one's path. */
function pathsOf(rows: ExportRow[]): string[] {
  const paths: string[] = [];
  for (const r of rows) paths.push(exportPath(r, paths[paths.length - 1]));
  return paths;
}

describe('exportPath', () => {
  it('puts a row under <split>/<label>/, and a row without split under unassigned/', () => {
    assert.equal(exportPath(row({})), 'train/cat/1.png');
    assert.equal(exportPath(row({ split: 'validation', label: 'dog' })), 'validation/dog/1.png');
    assert.equal(exportPath(row({ split: 'test' })), 'test/cat/1.png');
    assert.equal(exportPath(row({ split: null })), 'unassigned/cat/1.png');
  });

  it('sanitises labels and file names', () => {
    assert.equal(exportPath(row({ label: 'a/b\\c', fileName: 'x\u0000y\u001f\u007f.png' })), 'train/a_b_c/x_y__.png');
    assert.equal(exportPath(row({ label: '..', fileName: '../../etc/passwd' })), 'train/_/_.._etc_passwd');
    assert.equal(exportPath(row({ fileName: '.hidden.png' })), 'train/cat/hidden.png');
    assert.equal(exportPath(row({ fileName: '...', itemId: 'id-7' })), 'train/cat/id-7');
    assert.equal(safePathSegment('', 'fallback'), 'fallback');
  });

  it('renames a repeated path with the sha256 prefix, however long the run', () => {
    const rows = [
      row({ itemId: '1', sha256: '11111111' + 'f'.repeat(56) }),
      row({ itemId: '2', sha256: '22222222' + 'f'.repeat(56) }),
      row({ itemId: '3', sha256: '33333333' + 'f'.repeat(56) }),
      row({ itemId: '4', fileName: '2.png' }),
      row({ itemId: '5', label: 'dog', sha256: '55555555' + 'f'.repeat(56) }),
      row({ itemId: '6', label: 'dog', fileName: 'README', sha256: '66666666' + 'f'.repeat(56) }),
      row({ itemId: '7', label: 'dog', fileName: 'README', sha256: '77777777' + 'f'.repeat(56) }),
    ];
    assert.deepEqual(pathsOf(rows), [
      'train/cat/1.png',
      'train/cat/1-22222222.png',
      'train/cat/1-33333333.png',
      'train/cat/2.png',
      'train/dog/1.png',
      'train/dog/README',
      'train/dog/README-77777777',
    ]);
  });

  it('adds the item id when the same image repeats under the same name', () => {
    const same = 'abcdef12' + '0'.repeat(56);
    const paths = pathsOf(['a', 'b', 'c'].map((itemId) => row({ itemId, sha256: same })));
    assert.deepEqual(paths, ['train/cat/1.png', 'train/cat/1-abcdef12.png', 'train/cat/1-abcdef12-c.png']);
    assert.equal(new Set(paths).size, paths.length);
  });
});
