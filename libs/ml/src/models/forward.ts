import * as tf from '@tensorflow/tfjs';

// A forward pass through a linear (Sequential-style) model that decides per layer kind what
// "training" means, which tf.layers' single training flag cannot:
// - batch norm uses batch statistics (and updates its moving averages) only when training;
// - dropout is on when training OR for MC-dropout at inference, with masks drawn from seeds we
//   control (tf's own Dropout draws from Math.random, or repeats one mask when given a seed), so a
//   seeded run is reproducible. The saved model keeps plain Dropout layers: any tfjs loader reads it.

export interface ForwardOptions {
  /** Batch norm in training mode (batch statistics, moving averages updated). */
  training: boolean;
  /** Dropout on (training or MC dropout). */
  dropout: boolean;
  /** Seed for the dropout mask of each dropout layer in this pass (required when dropout is on). */
  dropoutSeed?: (layerIndex: number) => string;
  /** Run layers [from, to) only (defaults: the whole model). */
  from?: number;
  to?: number;
}

export function modelLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  for (const layer of layers) {
    if (layer.inboundNodes.length > 1 || (layer.inboundNodes[0]?.inboundLayers.length ?? 1) > 1) {
      throw new TypeError(`model ${model.name} is not a linear stack of layers (layer ${layer.name})`);
    }
  }
  return layers;
}

/** Index of the named layer in modelLayers(model). */
export function layerIndex(model: tf.LayersModel, name: string): number {
  const i = modelLayers(model).findIndex((l) => l.name === name);
  if (i < 0) throw new TypeError(`model ${model.name} has no layer named ${name}`);
  return i;
}

/** Index of the first dropout layer (everything before it is deterministic at inference). */
export function firstDropoutIndex(model: tf.LayersModel): number {
  const i = modelLayers(model).findIndex((l) => l.getClassName() === 'Dropout');
  return i < 0 ? modelLayers(model).length : i;
}

export function forward(model: tf.LayersModel, x: tf.Tensor, options: ForwardOptions): tf.Tensor {
  const layers = modelLayers(model);
  const from = options.from ?? 0;
  const to = options.to ?? layers.length;
  let t = x;
  for (let i = from; i < to; i++) {
    const layer = layers[i]!;
    if (layer.getClassName() === 'Dropout') {
      if (options.dropout) t = dropout(t, (layer.getConfig().rate as number) ?? 0, options.dropoutSeed?.(i));
    } else {
      t = layer.apply(t, { training: options.training }) as tf.Tensor;
    }
  }
  return t;
}

function dropout(x: tf.Tensor, rate: number, seed: string | undefined): tf.Tensor {
  if (rate <= 0) return x;
  if (seed === undefined) throw new TypeError('dropout needs a seed');
  return tf.tidy(() => {
    const keep = 1 - rate;
    // floor(u + keep) is 1 with probability keep; scale by 1/keep so the expectation is unchanged.
    const mask = tf.floor(tf.randomUniform(x.shape, 0, 1, 'float32', seed).add(keep));
    return x.mul(mask.div(keep));
  });
}
