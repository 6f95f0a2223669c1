// The inference API (tfjs-models conventions):
//   const model = await load({ weights: 'alexnet.safetensors' });
//   await model.classify(image, 5)                 -> [{ className, index, probability }]
//   await model.classify([a, b], 5)                -> one list per image, all through one forward
//   await model.infer(image, { embedding: true })  -> Float32Array (fc7, 4096-d); without: probabilities
// image: a file path or file: URL, encoded bytes (Buffer, Uint8Array, ArrayBuffer, Blob: what fs and fetch
// give), or raw pixels { data: Uint8Array, width, height, channels }.
// Preprocessing (resize, crop, mean, std) comes from the weights' metadata.
import { fileURLToPath } from 'node:url';
import { createBackend, type BackendName, type Precision } from './backend/index.ts';
import type { Backend } from './backend/backend.ts';
import { prepareInput, type RawImage } from './data/preprocess.ts';
import { openWeights } from './io/weights.ts';
import { createModel } from './model/index.ts';
import { createQuantizedModel } from './model/quant-model.ts';
import type { Model, StateDict, WeightsMeta } from './model/types.ts';
import { softmaxRows, topK, type Prediction } from './model/postprocess.ts';

export { softmaxRows, topK, type Prediction };

export type ImageInput = string | URL | Buffer | Uint8Array | ArrayBuffer | Blob | RawImage;

export interface LoadOptions {
  /** A weights file (safetensors, .pth, ONNX; by content) or weights already in memory. */
  weights: string | { sd: StateDict; meta: WeightsMeta };
  backend?: BackendName;
  threads?: number;
  /** 'bf16': bf16 convolutions and fc layers on the native backend where the CPU has AVX512_BF16 or AMX
   *  (elsewhere fp32, said in one line). Default 'fp32'. */
  precision?: Precision;
  /** Refuse images with more pixels than this (decompression bombs). Default 2^28. */
  maxPixels?: number;
}

export interface AlexNetClassifier {
  readonly meta: WeightsMeta;
  readonly model: Model;
  /** Square side of the network input (the metadata's crop). */
  readonly inputSize: number;
  classify(image: ImageInput, topk?: number): Promise<Prediction[]>;
  classify(images: readonly ImageInput[], topk?: number): Promise<Prediction[][]>;
  infer(image: ImageInput, opts?: { embedding?: boolean }): Promise<Float32Array>;
  infer(images: readonly ImageInput[], opts?: { embedding?: boolean }): Promise<Float32Array[]>;
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
  // from a file: the tensors stay in it until the backend reads them into the model (see openWeights)
  const opened = typeof opts.weights === 'string' ? await openWeights(opts.weights) : opts.weights;
  const meta = opened.meta;
  let be: Backend | undefined;
  if (opts.backend !== undefined || opts.threads !== undefined || opts.precision !== undefined) be = await createBackend(opts.backend ?? 'auto', { threads: opts.threads, precision: opts.precision });
  // int8 weights: int8 kernels where the backend has them, else dequantised with a notice (model/quant-model.ts)
  const quantized = 'quantized' in opened ? opened.quantized : undefined;
  if (quantized) be ??= await createBackend('auto');
  let model: Model;
  try {
    model = quantized ? await createQuantizedModel(quantized, be!) : await createModel({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden, backend: be ?? 'auto' });
  } catch (e) {
    be?.dispose();
    throw e;
  }
  try {
    if (!quantized) await model.loadStateDict(opened.sd);
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

  const preprocess = async (image: ImageInput, name?: string) =>
    prepareInput(await imageSource(image), meta.preprocessing, { limitInputPixels: opts.maxPixels, name: typeof image === 'string' || image instanceof URL ? undefined : name });
  /** One image or an array of them -> outputs of one batched forward (an empty array gives no forward). */
  const run = async (images: ImageInput | readonly ImageInput[], o: { embedding?: boolean }) => {
    const list = Array.isArray(images) ? images as readonly ImageInput[] : [images as ImageInput];
    const xs = await Promise.all(list.map((im, i) => preprocess(im, Array.isArray(images) ? `images[${i}]` : undefined)));
    return xs.length ? inferBatch(xs, o) : [];
  };
  const topk = (probs: Float32Array, k = 5): Prediction[] =>
    topK(probs, k, meta.classNames);

  return {
    meta, model, inputSize: S, preprocess, inferBatch, topk, exclusive,
    classify: (async (images: ImageInput | readonly ImageInput[], k = 5) => {
      const ps = (await run(images, {})).map((p) => topk(p, k));
      return Array.isArray(images) ? ps : ps[0];
    }) as AlexNetClassifier['classify'],
    infer: (async (images: ImageInput | readonly ImageInput[], o: { embedding?: boolean } = {}) => {
      const ys = await run(images, o);
      return Array.isArray(images) ? ys : ys[0];
    }) as AlexNetClassifier['infer'],
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
      be?.dispose();
    },
  };
}

/** Any ImageInput -> what the decoder takes: a path, a Buffer of encoded bytes, or raw pixels. Only file: URLs
 *  (nothing is downloaded: fetch the bytes and pass them). */
export async function imageSource(image: ImageInput): Promise<string | Buffer | RawImage> {
  if (typeof image === 'string') return image.startsWith('file:') ? fileURLToPath(image) : image;
  if (image instanceof URL) {
    if (image.protocol !== 'file:') throw new Error(`${image.href}: only file: URLs are read; fetch the image and pass its bytes (e.g. await res.arrayBuffer())`);
    return fileURLToPath(image);
  }
  if (Buffer.isBuffer(image)) return image;
  if (image instanceof Uint8Array) return Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (image instanceof ArrayBuffer) return Buffer.from(image);
  if (typeof Blob !== 'undefined' && image instanceof Blob) return Buffer.from(await image.arrayBuffer());
  if (image && typeof image === 'object' && 'data' in image && 'width' in image) return image;
  throw new Error(`unsupported image input (${Object.prototype.toString.call(image)}): pass a path, file: URL, Buffer, Uint8Array, ArrayBuffer, Blob or { data, width, height, channels }`);
}
