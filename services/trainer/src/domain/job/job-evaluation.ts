// Evaluation of a trained model: logits on validation fit the temperature; test (streamed from the
// manifest, every test item of the snapshot) and validation are scored with calibrated probabilities.
import { calibrationReport, evaluate, type ImageSpec, imageBytes, predict, softmaxWithTemperature } from '@labelloop/ml';
import type { DatasetReader } from '../../adapters/dataset-reader.js';
import { fetchAndDecode, IMAGE_CONCURRENCY, mapConcurrent } from './job-data.js';
import type { SplitMetricsJson } from './job-types.js';
import type { ManifestLine } from './manifest.js';

/** The tfjs model type, named through libs/ml (the trainer does not depend on tfjs itself). */
type LayersModel = Parameters<typeof predict>[0];

/** Images per forward pass while streaming the test split. */
const EVAL_BATCH = 256;

export interface SplitLogits {
  logits: Float32Array;
  labels: Int32Array;
  undecodable: number;
}

export async function logitsOf(model: LayersModel, images: Uint8Array): Promise<Float32Array> {
  const predictions = await predict(model, images, { topK: 1, batchSize: EVAL_BATCH });
  const k = model.outputs[0]!.shape.at(-1) as number;
  const out = new Float32Array(predictions.length * k);
  predictions.forEach((p, i) => out.set(p.logits, i * k));
  return out;
}

/** Logits of the test items, fetched a batch at a time (only logits, k floats an item, are kept). */
export async function streamedLogits(
  model: LayersModel,
  entries: AsyncIterable<ManifestLine>,
  options: { reader: DatasetReader; spec: ImageSpec; classIndex: Map<string, number>; signal: AbortSignal },
): Promise<SplitLogits> {
  const size = imageBytes(options.spec);
  const logits: Float32Array[] = [];
  const labels: number[] = [];
  let undecodable = 0;
  let batch = new Uint8Array(EVAL_BATCH * size);
  let filled = 0;
  const flush = async () => {
    if (filled > 0) logits.push(await logitsOf(model, batch.subarray(0, filled * size)));
    batch = new Uint8Array(EVAL_BATCH * size);
    filled = 0;
  };
  const decode = (entry: ManifestLine) => fetchAndDecode(options.reader, options.spec, entry);
  for await (const decoded of mapConcurrent(entries, IMAGE_CONCURRENCY, decode)) {
    if (options.signal.aborted) break;
    if ('error' in decoded) {
      undecodable++;
      continue;
    }
    batch.set(decoded.pixels, filled * size);
    labels.push(options.classIndex.get(decoded.entry.label)!);
    if (++filled === EVAL_BATCH) await flush();
  }
  await flush();
  const all = new Float32Array(logits.reduce((s, l) => s + l.length, 0));
  let offset = 0;
  for (const part of logits) {
    all.set(part, offset);
    offset += part.length;
  }
  return { logits: all, labels: Int32Array.from(labels), undecodable };
}

export function splitMetrics(
  split: SplitMetricsJson['split'],
  data: { logits: Float32Array; labels: Int32Array },
  classes: readonly string[],
  temperature: number,
): SplitMetricsJson {
  const k = classes.length;
  const report = evaluate(softmaxWithTemperature(data.logits, k, temperature), data.labels, classes);
  const calibration = data.labels.length
    ? calibrationReport(data.logits, data.labels, k, temperature)
    : { eceBefore: 0, eceAfter: 0 };
  return {
    split,
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    perClass: report.perClass.map((c) => ({ className: c.class, precision: c.precision, recall: c.recall, f1: c.f1, support: c.support })),
    confusionMatrix: report.confusion.flat(),
    eceBefore: calibration.eceBefore,
    eceAfter: calibration.eceAfter,
    items: report.n,
  };
}
