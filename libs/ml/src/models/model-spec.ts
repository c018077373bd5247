// Plain-JSON description of a model, so a worker thread (or a saved artifact) can rebuild the same network.

export type Architecture = 'alexnet' | 'cnn-28' | 'cnn-32' | 'cnn-64';

export interface ModelSpec {
  architecture: Architecture;
  /** [height, width, channels] of the uint8 input images. */
  inputShape: [number, number, number];
  numClasses: number;
  /** Dropout rate of the dropout layers (default per architecture). */
  dropout?: number;
}
