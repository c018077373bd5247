import type { ExportRow } from './export-row.js';

// Where a row's image goes inside an export: `<split>/<label>/<fileName>`, or
// `unassigned/<label>/<fileName>` when the item has no split (the archive listing reads that
// back as "labelled, no split").

/** Replaces path separators and control characters, and drops leading dots (no hidden files). */
export function safePathSegment(name: string, fallback: string): string {
  // C0 control characters and DEL
  const cleaned = name.replace(/[/\\\u0000-\u001f\u007f]/g, '_').replace(/^\.+/, '');
  return cleaned === '' ? fallback : cleaned;
}

function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? { stem: name.slice(0, dot), ext: name.slice(dot) } : { stem: name, ext: '' };
}

const COLLISION_SUFFIX = /^[0-9a-f]{8}(-.+)?$/;

/**
 * The path of `row` in the export. Rows arrive ordered by split, label, file name and id, so
 * rows that would share a path are adjacent: pass the path returned for the previous row and
 * a repeat gets `-<first 8 hex of sha256>` before its extension. Memory stays flat.
 * Two files with the same name and the same content next to each other (a duplicate image)
 * get the item id as well.
 */
export function exportPath(row: ExportRow, previousPath?: string): string {
  const dir = `${row.split ?? 'unassigned'}/${safePathSegment(row.label, '_')}`;
  const name = safePathSegment(row.fileName, safePathSegment(row.itemId, 'item'));
  const path = `${dir}/${name}`;
  if (previousPath === undefined) return path;

  const { stem, ext } = splitExtension(name);
  const prefix = `${dir}/${stem}-`;
  const previousWasRenamed =
    previousPath.startsWith(prefix) &&
    previousPath.endsWith(ext) &&
    COLLISION_SUFFIX.test(previousPath.slice(prefix.length, previousPath.length - ext.length));
  if (previousPath !== path && !previousWasRenamed) return path;

  const hash = row.sha256.slice(0, 8).toLowerCase();
  const renamed = `${prefix}${hash}${ext}`;
  if (previousPath === renamed || previousPath.startsWith(`${prefix}${hash}-`)) {
    return `${prefix}${hash}-${safePathSegment(row.itemId, 'item')}${ext}`;
  }
  return renamed;
}
