import { InvalidArgumentError } from '@labelloop/common';
import yauzl from 'yauzl';
import {
  entryName,
  entryType,
  oversizedEntry,
  unsafeName,
  type FileError,
} from './archive-entry-checks.js';
import { classifyArchivePaths, type ArchiveEntry, type LayoutCandidate } from './archive-layout.js';

// Reads only the central directory of an uploaded ZIP and decides, before a single entry is
// unpacked, whether the archive is safe and fits a layout. One bad entry refuses the archive.

export interface ArchiveLimits {
  maxEntries: number;
  /** Sum of all declared uncompressed sizes. */
  maxTotalBytes: number;
  maxEntryBytes: number;
  /** Uncompressed / compressed, checked for entries above 1 MiB. */
  maxCompressionRatio: number;
}

export interface ArchiveListing {
  /** Files to ingest, in archive order. */
  entries: ArchiveEntry[];
  /** Class folders not in the dataset, sorted; only when addMissingClasses. */
  newClasses: string[];
  /** Files left out, each with why (not fatal). */
  skipped: FileError[];
}

export const ARCHIVE_OPEN_OPTIONS: yauzl.Options = {
  lazyEntries: true,
  autoClose: false,
  // Names are decoded and checked here, so that a bad one is reported with its entry.
  decodeStrings: false,
  validateEntrySizes: true,
};

/** How many fatal errors `details.errors` carries; the message gives the total. */
const MAX_REPORTED_ERRORS = 100;

class FatalErrors {
  readonly list: FileError[] = [];
  count = 0;
  add(fileName: string, error: Omit<FileError, 'fileName'>): void {
    this.count += 1;
    if (this.list.length < MAX_REPORTED_ERRORS) this.list.push({ fileName, ...error });
  }
  fail(fileName: string, error: Omit<FileError, 'fileName'>): never {
    this.add(fileName, error);
    throw this.toError();
  }
  throwIfAny(): void {
    if (this.count > 0) throw this.toError();
  }
  private toError(): InvalidArgumentError {
    const first = this.list[0]!;
    const more = this.count > 1 ? ` (and ${this.count - 1} more problems)` : '';
    const where = first.fileName ? `"${first.fileName}": ` : '';
    return new InvalidArgumentError(`archive refused: ${where}${first.reason}${more}`, { errors: this.list });
  }
}

/** Junk that archivers add; never data, never reported. */
function isIgnored(path: string): boolean {
  const segments = path.split('/');
  return segments[0] === '__MACOSX' || segments.some((s) => s.startsWith('.'));
}

async function openArchive(zipPath: string, fatal: FatalErrors): Promise<yauzl.ZipFile> {
  try {
    return await yauzl.openPromise(zipPath, ARCHIVE_OPEN_OPTIONS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw err; // the file itself could not be read
    const message = err instanceof Error ? err.message : String(err);
    if (/end of central directory record signature not found/i.test(message)) {
      return fatal.fail('', { code: 'not_a_zip', reason: 'the file is not a ZIP archive' });
    }
    return fatal.fail('', { code: 'corrupt_archive', reason: `the ZIP archive is damaged (${message})` });
  }
}

export async function readArchiveListing(
  zipPath: string,
  limits: ArchiveLimits,
  classes: readonly string[],
  opts: { addMissingClasses: boolean },
): Promise<ArchiveListing> {
  const fatal = new FatalErrors();
  const zip = await openArchive(zipPath, fatal);
  const candidates: LayoutCandidate[] = [];
  const skipped: FileError[] = [];
  try {
    if (zip.entryCount > limits.maxEntries) {
      fatal.fail('', {
        code: 'too_many_entries',
        reason: `the archive has ${zip.entryCount} entries; the limit is ${limits.maxEntries}`,
      });
    }
    const seen = new Set<string>();
    let totalBytes = 0;
    try {
      for await (const entry of zip.eachEntry()) {
        const name = entryName(entry);
        const unsafe = unsafeName(name);
        if (unsafe) {
          fatal.add(name, unsafe);
          continue;
        }
        const type = entryType(entry, name);
        if (type === 'directory') continue;
        if (type === 'symlink') fatal.add(name, { code: 'symlink', reason: 'the entry is a symbolic link' });
        if (type === 'special') fatal.add(name, { code: 'special_file', reason: 'the entry is not a regular file' });
        if (entry.isEncrypted()) fatal.add(name, { code: 'encrypted', reason: 'the entry is encrypted' });
        const oversized = oversizedEntry(entry, limits);
        if (oversized) fatal.add(name, oversized);
        // Two entries with one name unpack differently in different tools: refuse the ambiguity.
        if (seen.has(name)) fatal.add(name, { code: 'duplicate_entry', reason: 'the path appears twice' });
        seen.add(name);
        totalBytes += entry.uncompressedSize;
        if (type !== 'file' || isIgnored(name)) continue;
        if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
          skipped.push({
            fileName: name,
            code: 'unsupported_compression',
            reason: `compression method ${entry.compressionMethod} is not supported; use Deflate or Store`,
          });
          continue;
        }
        candidates.push({ path: name, uncompressedSize: entry.uncompressedSize });
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      fatal.add('', { code: 'corrupt_archive', reason: `the ZIP archive is damaged (${message})` });
    }
    if (totalBytes > limits.maxTotalBytes) {
      fatal.add('', {
        code: 'too_large',
        reason: `the archive unpacks to ${totalBytes} bytes; the limit is ${limits.maxTotalBytes}`,
      });
    }
  } finally {
    zip.close();
  }
  fatal.throwIfAny();

  const layout = classifyArchivePaths(candidates, classes);
  if (!opts.addMissingClasses) {
    for (const [className, path] of layout.unknownClasses) {
      fatal.add(path, {
        code: 'unknown_class',
        reason: `"${className}" is not a class of this dataset (class names are case-sensitive)`,
      });
    }
  }
  if (layout.entries.length === 0) {
    fatal.add('', { code: 'no_images', reason: 'the archive holds no image files in a recognised layout' });
  }
  fatal.throwIfAny();
  return {
    entries: layout.entries,
    newClasses: [...layout.unknownClasses.keys()].sort(),
    skipped: [...skipped, ...layout.skipped],
  };
}
