import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { ExportRow } from './export-row.js';

// The manifest of an export: one line per item, as CSV (with a header row) or JSON Lines.
// Inside a ZIP export each line also carries `path`, where the image sits in the archive
// (file names can repeat, so file_name alone does not find it).

export const MANIFEST_COLUMNS = [
  'item_id',
  'file_name',
  'sha256',
  'label',
  'label_source',
  'model_version',
  'confidence',
  'split',
  'labeled_at',
] as const;

export type ManifestRecord = Record<(typeof MANIFEST_COLUMNS)[number], string | number | null> & {
  path?: string;
};

export function manifestRecord(row: ExportRow, path?: string): ManifestRecord {
  const record: ManifestRecord = {
    item_id: row.itemId,
    file_name: row.fileName,
    sha256: row.sha256,
    label: row.label,
    label_source: row.labelSource,
    model_version: row.modelVersion,
    confidence: row.confidence,
    split: row.split,
    labeled_at: row.labeledAt.toISOString(),
  };
  if (path !== undefined) record.path = path;
  return record;
}

export function csvHeader(withPath: boolean): string {
  return stringify([withPath ? [...MANIFEST_COLUMNS, 'path'] : [...MANIFEST_COLUMNS]]);
}

/** One CSV line (null becomes an empty field), quoted where the value needs it. */
export function csvLine(row: ExportRow, path?: string): string {
  const record = manifestRecord(row, path);
  const values: Array<string | number | null> = MANIFEST_COLUMNS.map((c) => record[c]);
  if (path !== undefined) values.push(path);
  return stringify([values]);
}

export function jsonLine(row: ExportRow, path?: string): string {
  return `${JSON.stringify(manifestRecord(row, path))}\n`;
}

/** A CSV manifest, read from `rows` only as fast as the reader consumes it. */
export function csvManifest(rows: AsyncIterable<ExportRow>): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(csvHeader(false));
      for await (const row of rows) yield Buffer.from(csvLine(row));
    })(),
    { objectMode: false },
  );
}

export function jsonlManifest(rows: AsyncIterable<ExportRow>): Readable {
  return Readable.from(
    (async function* () {
      for await (const row of rows) yield Buffer.from(jsonLine(row));
    })(),
    { objectMode: false },
  );
}
