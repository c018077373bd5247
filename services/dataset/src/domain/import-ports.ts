import type { FileError, ImportCounts, ImportRecord } from './types.js';

// What the import flow needs from storage, implemented in adapters/.

export interface NewImport {
  id: string;
  datasetId: string;
  fileName: string;
  addMissingClasses: boolean;
  actor: string;
  archiveKey: string;
  /** Appended to the dataset's classes in the same transaction (those it lacks). */
  newClasses: string[];
  counts: ImportCounts;
  errors: FileError[];
}

export interface ImportSnapshot extends ImportCounts {
  errors: FileError[];
}

export interface ImportStore {
  create(input: NewImport): Promise<ImportRecord>;
  get(id: string): Promise<ImportRecord>;
  listUnfinished(): Promise<ImportRecord[]>;
  /** Marks the import RUNNING with these counts. */
  saveProgress(id: string, progress: ImportSnapshot): Promise<void>;
  /** SUCCEEDED (no reason) or FAILED, with the ImportFinished event. */
  finish(id: string, progress: ImportSnapshot, failureReason?: string): Promise<ImportRecord>;
}

/** An archive on local disk. */
export interface LocalArchive {
  readonly path: string;
  readonly size: number;
  remove(): Promise<void>;
}

export interface ArchiveStore {
  /** Writes the chunks to a local file; ResourceExhaustedError past maxBytes. */
  receive(chunks: AsyncIterable<Buffer>, maxBytes: number): Promise<LocalArchive>;
  keyFor(datasetId: string, importId: string): string;
  /** The durable copy an interrupted import resumes from. */
  upload(key: string, archive: LocalArchive): Promise<void>;
  download(key: string): Promise<LocalArchive>;
  delete(key: string): Promise<void>;
}
