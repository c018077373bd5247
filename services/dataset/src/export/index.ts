// Dataset export: paths inside an export, manifests, and the streamed ZIP.
export type { ExportRow, ExportSplit, LabelSource } from './export-row.js';
export { exportPath, safePathSegment } from './export-path.js';
export { csvManifest, jsonlManifest, MANIFEST_COLUMNS } from './manifest.js';
export { writeZipExport, type ZipExportOptions, type ZipExportSummary } from './zip-export.js';
