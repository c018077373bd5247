// File ingestion: checks on uploaded images and ZIP archives, before anything is stored.
export { inspectImage, ImageRejectedError, type ImageInfo, type ImageLimits, type ImageRejectionCode } from './image-inspection.js';
export type { AcceptedFormat } from './image-signature.js';
export type { FileError } from './archive-entry-checks.js';
export type { ArchiveEntry, Split } from './archive-layout.js';
export { readArchiveListing, type ArchiveLimits, type ArchiveListing } from './archive-listing.js';
export { readArchiveEntries, type ArchiveEntryResult } from './archive-reader.js';
