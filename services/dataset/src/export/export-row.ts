// One labelled item as it leaves the system, in a ZIP export or a manifest.

export type LabelSource = 'human' | 'model' | 'import';
export type ExportSplit = 'train' | 'validation' | 'test';

export interface ExportRow {
  itemId: string;
  /** The name the file was uploaded with. */
  fileName: string;
  /** Hex SHA-256 of the image bytes. */
  sha256: string;
  label: string;
  labelSource: LabelSource;
  /** The model that proposed the label; empty when a person or an import set it. */
  modelVersion: string;
  /** The model's confidence, null for human and imported labels. */
  confidence: number | null;
  split: ExportSplit | null;
  labeledAt: Date;
}
