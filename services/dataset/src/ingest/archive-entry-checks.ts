import yauzl from 'yauzl';

// Checks on one central-directory record, made before any byte of the entry is read.

/** A problem with one file: in an archive listing, an upload result or an import report. */
export interface FileError {
  /** The path of the entry inside the archive, or the uploaded file's name. */
  fileName: string;
  code: string;
  /** Plain words for the person who uploaded the file. */
  reason: string;
}

/**
 * The entry's name as written in the archive: UTF-8 when flagged (or from the Info-ZIP Unicode
 * path field), else CP437; backslashes are kept so that they can be refused.
 */
export function entryName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

/** Why a name is unsafe to use as a path, or null. Any of these refuses the whole archive. */
export function unsafeName(name: string): Omit<FileError, 'fileName'> | null {
  if (name.includes('\\')) return { code: 'backslash_in_path', reason: 'the path contains a backslash' };
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) {
    return { code: 'absolute_path', reason: 'the path is absolute' };
  }
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    return { code: 'invalid_path', reason: 'the path contains control characters' };
  }
  const segments = name.replace(/\/$/, '').split('/');
  if (segments.includes('..')) return { code: 'parent_path', reason: 'the path contains a ".." segment' };
  if (segments.some((s) => s === '' || s === '.')) {
    return { code: 'invalid_path', reason: 'the path contains an empty or "." segment' };
  }
  return null;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export type EntryType = 'file' | 'directory' | 'symlink' | 'special';

/**
 * What the entry is. Unix-made archives keep the file mode in the high 16 bits of the
 * external attributes; a symlink there must never be followed or stored as a file.
 */
export function entryType(entry: yauzl.Entry, name: string): EntryType {
  const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
  const type = mode & S_IFMT;
  if (type === S_IFLNK) return 'symlink';
  if (type === S_IFDIR || name.endsWith('/')) return 'directory';
  if (type !== 0 && type !== S_IFREG) return 'special';
  return 'file';
}

export interface SizeLimits {
  maxEntryBytes: number;
  maxCompressionRatio: number;
}

const RATIO_CHECK_FROM = 1024 * 1024;

/** Why the entry's declared sizes look like a ZIP bomb, or null. */
export function oversizedEntry(entry: yauzl.Entry, limits: SizeLimits): Omit<FileError, 'fileName'> | null {
  if (entry.uncompressedSize > limits.maxEntryBytes) {
    return {
      code: 'entry_too_large',
      reason: `the file unpacks to ${entry.uncompressedSize} bytes; the limit is ${limits.maxEntryBytes}`,
    };
  }
  // Small files compress wildly at times (a blank PNG); only big ones can do harm.
  if (entry.uncompressedSize > RATIO_CHECK_FROM) {
    const ratio = entry.uncompressedSize / Math.max(entry.compressedSize, 1);
    if (ratio > limits.maxCompressionRatio) {
      return {
        code: 'compression_ratio',
        reason: `the file is compressed ${Math.round(ratio)}:1; the limit is ${limits.maxCompressionRatio}:1`,
      };
    }
  }
  return null;
}
