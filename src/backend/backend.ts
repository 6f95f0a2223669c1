// The backend interface: every backend (ref, native, later webgpu/cuda) implements exactly this.
//
// Tensors are opaque handles owned by a backend: data stays in backend memory (native heap,
// GPU) until `read`. All shapes are logical NCHW / (N,F); a backend may store any layout.
// `run` may execute eagerly (ref) or enqueue work (native runs a FIFO on a worker thread);
// either way results are visible to the next `run` on the same backend, and `read` awaits them.
// Reads are asynchronous only: no backend has to block the JS thread. The per-op facts (inputs, attrs
// in ABI order, shape inference, validation) live in the registry, ops.ts.
//
// Conventions for every op:
//   - outputs first in the result object; gradients carry a `d` prefix;
//   - parameter gradients (dw, db) are inputs that ACCUMULATE (+=); activation gradients (dx)
//     are new tensors that are ASSIGNED;
//   - what backward needs beyond its inputs comes from forward as a named cache tensor
//     (maxPool `argmax`, lrn `scale`, dropout `mask`). Caches are backend-private: only the
//     same backend's backward reads them, so their contents/layout are unspecified.

export type DType = 'f32' | 'i32';

export interface Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements (product of shape). */
  readonly size: number;
  /** Name of the owning backend ('ref', 'native', ...). */
  readonly backendName: string;
}

export interface Conv2dAttrs { stride: number; pad: number; groups: number }
export interface Conv2dBackwardAttrs extends Conv2dAttrs { needDx: boolean }
/** 'paper': b = a / (k + alpha * sum a^2)^beta (also TensorFlow's alpha scaling).
 *  'pytorch': b = a / (k + alpha/size * sum a^2)^beta (PyTorch, Caffe, cuda-convnet, ONNX).
 *  The sum runs over `size` channels centred on c: [c - floor((size-1)/2), c + ceil((size-1)/2)], clipped. */
export type LrnConvention = 'paper' | 'pytorch';
export interface LrnAttrs { size: number; alpha: number; beta: number; k: number; convention: LrnConvention }
/** Max pool, floor mode, zero padding never wins (padding counts as -inf). */
export interface PoolAttrs { kernel: number; stride: number; pad: number }
/** PyTorch's adaptive_avg_pool2d bins: start = floor(i*H/outH), end = ceil((i+1)*H/outH). */
export interface AdaptiveAvgPoolAttrs { outH: number; outW: number }
/** keep[i] = dropoutUniform(seed, i) >= p; y = x * keep / (1 - p). See dropoutUniform below. */
export interface DropoutAttrs { p: number; seed: number }
export interface LinearBackwardAttrs { needDx: boolean }
export interface ReshapeAttrs { shape: number[] }
export interface FillAttrs { value: number }
/** The paper's update, in place: v <- momentum*v - weightDecay*r*w - r*dw; w <- w + v, with r = lr.
 *  trust > 0 (LARS, You et al. 2017; run it once per weight tensor): r = lr * trust * |w| / (|dw| + weightDecay*|w|),
 *  Euclidean norms over the tensor, and r = lr where |w| or |dw| is 0. Absent or 0: r = lr. */
export interface SgdAttrs { lr: number; momentum: number; weightDecay: number; trust?: number }
export type NoAttrs = Record<string, never>;

type T = Tensor;

/** The closed set of ops. in: input tensors; out: output tensors; attrs: the op's settings. */
export interface OpTable {
  /** y = conv(x, w) + b.  x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q). */
  conv2d: { attrs: Conv2dAttrs; in: { x: T; w: T; b: T }; out: { y: T } };
  /** dw += dL/dw, db += dL/db, dx = dL/dx (omitted when !needDx). */
  conv2dBackward: { attrs: Conv2dBackwardAttrs; in: { x: T; w: T; dy: T; dw: T; db: T }; out: { dx?: T } };
  /** y = max(x, 0). */
  relu: { attrs: NoAttrs; in: { x: T }; out: { y: T } };
  /** dx = dy * [y > 0]. */
  reluBackward: { attrs: NoAttrs; in: { y: T; dy: T }; out: { dx: T } };
  /** Local response normalisation across channels; scale is the cache for backward. x (N,C,H,W). */
  lrn: { attrs: LrnAttrs; in: { x: T }; out: { y: T; scale: T } };
  /** dx = dL/dx of lrn given the forward's x, y and scale. */
  lrnBackward: { attrs: LrnAttrs; in: { x: T; y: T; scale: T; dy: T }; out: { dx: T } };
  /** y = max over kernel windows; argmax is the cache. x (N,C,H,W) -> y (N,C,P,Q). */
  maxPool: { attrs: PoolAttrs; in: { x: T }; out: { y: T; argmax: T } };
  /** dx scatters dy to the argmax positions (ties: the first max in row-major window order). */
  maxPoolBackward: { attrs: PoolAttrs; in: { x: T; argmax: T; dy: T }; out: { dx: T } };
  /** y = mean over PyTorch adaptive bins. x (N,C,H,W) -> y (N,C,outH,outW). */
  adaptiveAvgPool: { attrs: AdaptiveAvgPoolAttrs; in: { x: T }; out: { y: T } };
  /** dx spreads dy evenly over each bin (x gives the shape; its data is not needed). */
  adaptiveAvgPoolBackward: { attrs: AdaptiveAvgPoolAttrs; in: { x: T; dy: T }; out: { dx: T } };
  /** Inverted dropout with a counter-based mask; mask is the cache. */
  dropout: { attrs: DropoutAttrs; in: { x: T }; out: { y: T; mask: T } };
  /** dx = dy * keep / (1 - p). */
  dropoutBackward: { attrs: DropoutAttrs; in: { mask: T; dy: T }; out: { dx: T } };
  /** y = x w^T + b.  x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O). */
  linear: { attrs: NoAttrs; in: { x: T; w: T; b: T }; out: { y: T } };
  /** dw += dy^T x, db += sum_n dy, dx = dy w (omitted when !needDx). */
  linearBackward: { attrs: LinearBackwardAttrs; in: { x: T; w: T; dy: T; dw: T; db: T }; out: { dx?: T } };
  /** Same elements in row-major NCHW order, new shape (flatten (N,C,H,W) -> (N,C*H*W)). */
  reshape: { attrs: ReshapeAttrs; in: { x: T }; out: { y: T } };
  /** Row-wise softmax. x (N,K) -> y (N,K). */
  softmax: { attrs: NoAttrs; in: { x: T }; out: { y: T } };
  /** loss (1) = mean_n -log softmax(logits)[n, labels[n]]; dlogits = (softmax - onehot) / N. labels i32 (N). */
  softmaxCrossEntropy: { attrs: NoAttrs; in: { logits: T; labels: T }; out: { loss: T; dlogits: T } };
  /** In place: x[:] = value. */
  fill: { attrs: FillAttrs; in: { x: T }; out: Record<string, never> };
  /** In place, the paper's momentum SGD over flat tensors of equal size (see SgdAttrs). */
  sgd: { attrs: SgdAttrs; in: { w: T; dw: T; v: T }; out: Record<string, never> };
}

export type OpName = keyof OpTable;
export type OpAttrs<K extends OpName> = OpTable[K]['attrs'];
export type OpInputs<K extends OpName> = OpTable[K]['in'];
export type OpOutputs<K extends OpName> = OpTable[K]['out'];

export interface Backend {
  readonly name: string;
  /** New tensor of zeros. */
  alloc(shape: readonly number[], dtype?: DType): Tensor;
  /** Copy host data into a new backend tensor (data.length must equal the shape's size). */
  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor;
  /** A tensor sharing `base`'s memory: elements [offset, offset + size(shape)) of a flat f32 base.
   *  Used to carve parameters and gradients out of one arena. */
  view(base: Tensor, offset: number, shape: readonly number[]): Tensor;
  /** Row-major NCHW copy of the data, after all queued work on it has finished. */
  read(t: Tensor): Promise<Float32Array | Int32Array>;
  /** Overwrite an existing tensor (or view) in place with row-major data of its size and dtype, in queue order. */
  write(t: Tensor, data: Float32Array | Int32Array): void;
  /** Optional, for backends that read files themselves: fill an existing f32 tensor (or view) with its size's
   *  worth of little-endian f32 bytes at `offset` of `file`, in queue order, with no host copy. A failed read
   *  rejects the next read/sync. */
  writeFile?(t: Tensor, file: string, offset: number): void;
  /** Release memory; views keep their base alive. Freeing twice is an error. */
  free(...ts: (Tensor | undefined)[]): void;
  /** Does this backend run `op` with these attrs itself? If not, `run` still works, through the host
   *  fallback (fallback.ts): slow, same results. */
  supports<K extends OpName>(op: K, attrs: OpAttrs<K>): boolean;
  /** Run (or enqueue) one op. Validates through the registry synchronously and throws ShapeError on a bad call. */
  run<K extends OpName>(op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>): OpOutputs<K>;
  /** Optional, for backends whose per-op submission costs the JS thread (native): runs `fn` on `inputs` as
   *  usual and records what it submits; `replay` submits the same ops in one call on new inputs of the same
   *  shapes (reading the same other tensors, e.g. parameters), returning the new result. No `replay` (and
   *  `why`) when `fn` did what a replay could not repeat: host fallback work, reads, tensors left alive. */
  record?(inputs: readonly Tensor[], fn: (inputs: readonly Tensor[]) => Tensor): { y: Tensor; replay?: (inputs: readonly Tensor[]) => Tensor; why?: string };
  /** Resolves when all queued work has finished. */
  sync(): Promise<void>;
  /** Worker threads used by kernels (settable where the backend allows). */
  threads: number;
  /** Release everything the backend holds. */
  dispose(): void;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Counter-based dropout uniform in [0,1): murmur3 fmix32 of (seed + i * 0x9E3779B9) mod 2^32, top 24 bits.
 *  Every backend must use exactly this so masks agree bit for bit across backends. */
export function dropoutUniform(seed: number, i: number): number {
  let h = (seed + Math.imul(i, 0x9e3779b9)) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return (h >>> 8) / 16777216;
}

/** Output size of a conv/pool window along one axis (floor mode). */
export function outSize(inSize: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((inSize + 2 * pad - kernel) / stride) + 1;
}

export class ShapeError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}
