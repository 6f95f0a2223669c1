// The inference API (tfjs-models conventions):
//   const model = await load({ weights: 'alexnet.safetensors' });
//   await model.classify(image, 5)                 -> [{ className, index, probability }]
//   await model.infer(image, { embedding: true })  -> Float32Array (fc7, 4096-d); without: probabilities
// image: a file path, a Buffer of encoded bytes, or { data: Uint8Array, width, height, channels }.
// Preprocessing (resize, crop, mean, std) comes from the weights' metadata.
import { createBackend, type BackendName } from './backend/index.ts';
import type { Backend } from './backend/backend.ts';
import { prepareInput, type RawImage } from './data/preprocess.ts';
import { loadWeights } from './io/weights.ts';
import { createModel } from './model/index.ts';
import type { Model, StateDict, WeightsMeta } from './model/types.ts';
import { softmaxRows, topK, type Prediction } from './model/postprocess.ts';

export { softmaxRows, type Prediction };

export type ImageInput = string | Buffer | RawImage;

export interface LoadOptions {
  /** A weights file (safetensors, .pth, ONNX; by content) or weights already in memory. */
  weights: string | { sd: StateDict; meta: WeightsMeta };
  backend?: BackendName;
  threads?: number;
  /** Refuse images with more pixels than this (decompression bombs). Default 2^28. */
  maxPixels?: number;
}

export interface AlexNetClassifier {
  readonly meta: WeightsMeta;
  readonly model: Model;
  /** Square side of the network input (the metadata's crop). */
  readonly inputSize: number;
  classify(image: ImageInput, topk?: number): Promise<Prediction[]>;
  infer(image: ImageInput, opts?: { embedding?: boolean }): Promise<Float32Array>;
  /** Image -> normalised (3, S, S) input, following the metadata. */
  preprocess(image: ImageInput): Promise<Float32Array>;
  /** One forward over several preprocessed inputs: probabilities (classes each) or fc7 features. */
  inferBatch(inputs: readonly Float32Array[], opts?: { embedding?: boolean }): Promise<Float32Array[]>;
  /** Top-k of one probability row. */
  topk(probs: Float32Array, k?: number): Prediction[];
  /** Runs fn with exclusive use of the model (forwards never interleave). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  dispose(): void;
}

export async function load(opts: LoadOptions): Promise<AlexNetClassifier> {
  const { sd, meta } = typeof opts.weights === 'string' ? await loadWeights(opts.weights) : opts.weights;
  let be: Backend | undefined;
  if (opts.backend !== undefined || opts.threads !== undefined) be = await createBackend(opts.backend ?? 'auto', { threads: opts.threads });
  const model = await createModel({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden, backend: be ?? 'auto' });
  try {
    await model.loadStateDict(sd);
  } catch (e) {
    model.dispose(); be?.dispose();
    throw e;
  }
  const S = meta.preprocessing.crop;
  let chain: Promise<unknown> = Promise.resolve();
  let disposed = false;
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(() => {
      if (disposed) throw new Error('model was disposed');
      return fn();
    });
    chain = run.catch(() => {});
    return run;
  };

  const inferBatch = (inputs: readonly Float32Array[], o: { embedding?: boolean } = {}) => exclusive(async () => {
    const n = inputs.length, per = 3 * S * S;
    const x = new Float32Array(n * per);
    inputs.forEach((v, i) => {
      if (v.length !== per) throw new Error(`input ${i} has ${v.length} values, expected 3x${S}x${S}`);
      x.set(v, i * per);
    });
    const shape: [number, number, number, number] = [n, 3, S, S];
    const y = o.embedding ? await model.embed(x, shape) : softmaxRows(await model.forward(x, shape), meta.classes);
    const w = y.length / n;
    return Array.from({ length: n }, (_, i) => y.slice(i * w, (i + 1) * w));
  });

  const preprocess = (image: ImageInput) => prepareInput(image, meta.preprocessing, { limitInputPixels: opts.maxPixels });
  const topk = (probs: Float32Array, k = 5): Prediction[] => topK(probs, k, meta.classNames);

  return {
    meta, model, inputSize: S, preprocess, inferBatch, topk, exclusive,
    async classify(image, k = 5) {
      const [p] = await inferBatch([await preprocess(image)]);
      return topk(p, k);
    },
    async infer(image, o = {}) {
      const [y] = await inferBatch([await preprocess(image)], o);
      return y;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
      be?.dispose();
    },
  };
}
