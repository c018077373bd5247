import type { FileError } from './archive-entry-checks.js';

// Where a file sits in an uploaded archive says its class and split. Accepted layouts, each
// optionally inside one common top-level folder (e.g. `DataSet/train/cat/1.png`):
//   <class>/<file>                      labelled, no split
//   <split>/<class>/<file>              labelled, split train | validation (or val) | test
//   unassigned/<class>/<file>           labelled, no split (as our own export writes it)
//   unlabelled/<file>                   not labelled
//   <split>/unlabelled/<file>           not labelled, in a split

export type Split = 'train' | 'validation' | 'test';

export interface ArchiveEntry {
  /** Full path inside the archive. */
  path: string;
  /** Last path segment. */
  fileName: string;
  className?: string;
  split?: Split;
  /** As declared in the central directory (and enforced while reading). */
  uncompressedSize: number;
}

export interface LayoutCandidate {
  path: string;
  uncompressedSize: number;
}

export interface LayoutResult {
  entries: ArchiveEntry[];
  /** Files that fit no layout: reported, not fatal. */
  skipped: FileError[];
  /** Class folders that the dataset does not have, each with the first path found in it. */
  unknownClasses: Map<string, string>;
}

const SPLITS: ReadonlyMap<string, Split> = new Map([
  ['train', 'train'],
  ['validation', 'validation'],
  ['val', 'validation'],
  ['test', 'test'],
]);
const UNLABELLED = new Set(['unlabelled', 'unlabeled']);
const UNASSIGNED = 'unassigned';
/** Our export writes these at its root; re-importing an export must not trip over them. */
const MANIFESTS = new Set(['manifest.csv', 'manifest.jsonl']);

function isReservedFolder(name: string, classes: ReadonlySet<string>): boolean {
  return classes.has(name) || SPLITS.has(name) || UNLABELLED.has(name) || name === UNASSIGNED;
}

/**
 * The common top-level folder that wraps a whole layout, or null. A single folder holding only
 * files is a class folder, not a wrapper, so a wrapper needs something nested below it.
 */
function findWrapper(candidates: readonly LayoutCandidate[], classes: ReadonlySet<string>): string | null {
  let wrapper: string | null = null;
  let nested = false;
  for (const { path } of candidates) {
    const segments = path.split('/');
    if (segments.length < 2) continue; // a stray root file does not decide the layout
    if (wrapper === null) wrapper = segments[0]!;
    else if (wrapper !== segments[0]) return null;
    if (segments.length >= 3) nested = true;
  }
  return wrapper !== null && nested && !isReservedFolder(wrapper, classes) ? wrapper : null;
}

export function classifyArchivePaths(
  candidates: readonly LayoutCandidate[],
  classNames: readonly string[],
): LayoutResult {
  const classes = new Set(classNames);
  const wrapper = findWrapper(candidates, classes);
  const result: LayoutResult = { entries: [], skipped: [], unknownClasses: new Map() };

  for (const candidate of candidates) {
    let segments = candidate.path.split('/');
    if (wrapper !== null && segments[0] === wrapper) segments = segments.slice(1);
    const fileName = segments[segments.length - 1]!;
    if (segments.length === 1 && MANIFESTS.has(fileName)) continue;

    const base = { path: candidate.path, fileName, uncompressedSize: candidate.uncompressedSize };
    const unexpected = (reason: string) =>
      result.skipped.push({ fileName: candidate.path, code: 'unexpected_path', reason });
    const labelled = (className: string, split?: Split) => {
      if (!classes.has(className) && !result.unknownClasses.has(className)) {
        result.unknownClasses.set(className, candidate.path);
      }
      result.entries.push(split ? { ...base, className, split } : { ...base, className });
    };

    const [first, second] = segments;
    if (segments.length === 2) {
      if (UNLABELLED.has(first!)) result.entries.push(base);
      else if (SPLITS.has(first!) && !classes.has(first!)) {
        unexpected(`files in the "${first}" folder must be inside a class folder`);
      } else labelled(first!);
    } else if (segments.length === 3) {
      const split = SPLITS.get(first!);
      if (split && UNLABELLED.has(second!)) result.entries.push({ ...base, split });
      else if (split) labelled(second!, split);
      else if (first === UNASSIGNED) labelled(second!);
      else unexpected(`"${first}" is not train, validation or test, so its subfolders are not classes`);
    } else if (segments.length === 1) {
      unexpected('the file is not inside a class folder');
    } else {
      unexpected('the file is nested too deep to be in a class folder');
    }
  }
  return result;
}
