// The model contract shared by training, inference, interchange, serving and visualisation.
import type { Backend } from '../backend/backend.ts';
import type { BackendName, Precision } from '../backend/index.ts';
import type { Arena, ParamEntry } from './arena.ts';

export type Variant = 'paper' | 'torchvision';

export interface ModelConfig {
  variant: Variant;
  /** Number of output classes (fc8 width). Default 1000. */
  classes?: number;
  /** A backend instance, or a name for createBackend ('auto' default). */
  backend?: Backend | BackendName;
  /** With a backend name: the precision createModel creates it in (a backend instance has its own). */
  precision?: Precision;
  /** Seed for the paper initialisation (N(0, 0.01) weights). Default 0. */
  seed?: number;
  /** Width multiplier for reduced-width test models (1 = the real AlexNet). Default 1. */
  widthScale?: number;
  /** fc6/fc7 width override (4096 by default); reduced models for fixtures use small values. */
  hidden?: number;
}

export type { ParamEntry } from './arena.ts';

export interface NamedArray { shape: number[]; data: Float32Array }
export type StateDict = Record<string, NamedArray>;

/** Where a parameter's values still are: little-endian f32 bytes at `offset` of `file` (a weights file whose
 *  header has been checked), and how to read them into memory for a backend that cannot read files itself. */
export interface FileRange { file: string; offset: number; read(): Promise<Float32Array> }
/** A state dict whose tensors may still be in their file: what an inference load hands to loadStateDict, so
 *  the weights go from the file straight into the backend's memory. */
export type FileStateDict = Record<string, { shape: number[]; data?: Float32Array; range?: FileRange }>;

/** One row of `alexnet summary`. outputShape is [C,H,W] or [F]. */
export interface SummaryRow { name: string; kind: string; outputShape: number[]; params: number; macs: number }

export interface TrainStepOptions {
  lr: number;
  momentum?: number;      // default 0.9
  weightDecay?: number;   // default 5e-4
  /** Seed for this step's dropout masks (the trainer derives one per step). */
  dropoutSeed?: number;
  /** false disables dropout (used by fixture tests). Default true. */
  dropout?: boolean;
  /** lr multipliers by state_dict prefix ('features', 'classifier.6', ...; the longest match wins, others 1).
   *  0 freezes: those parameters are not updated, and a frozen front of the network gets no backward. */
  paramLr?: Readonly<Record<string, number>>;
}

export interface BackwardOptions {
  dropout?: boolean;
  dropoutSeed?: number;
  paramLr?: Readonly<Record<string, number>>;
  /** Data-parallel: index of the first sample in its global batch (dropout masks follow global samples). */
  sampleOffset?: number;
  /** Called with a parameter layer's state_dict prefix once its gradients are final (reverse layer order). */
  onParamGrads?: (param: string) => void;
}

export interface Model {
  readonly variant: Variant;
  readonly classes: number;
  /** Default square input side: 227 (paper) or 224 (torchvision). */
  readonly inputSize: number;
  readonly backend: Backend;
  /** Parameter table: names, shapes and offsets in the flat arena, in state_dict order. */
  readonly params: readonly ParamEntry[];
  readonly paramCount: number;

  /** Eval-mode forward (no dropout). x is NCHW float32. Returns logits (N*classes). */
  forward(x: Float32Array, shape: [number, number, number, number]): Promise<Float32Array>;
  /** Eval-mode forward returning fc7 features (N*4096, post-ReLU) instead of logits. */
  embed(x: Float32Array, shape: [number, number, number, number]): Promise<Float32Array>;
  /** Eval-mode forward returning every layer's output by summary name (conv1, relu1, ..., fc8). */
  activations(x: Float32Array, shape: [number, number, number, number]): Promise<Record<string, NamedArray>>;
  /** Forward + backward + paper SGD update on one batch; labels are class indices. Returns the mean loss. */
  trainStep(x: Float32Array, shape: [number, number, number, number], labels: Int32Array, opts: TrainStepOptions): Promise<number>;
  /** Forward + backward into the gradient arena, no update: the mean loss. An optimiser (src/optim) then
   *  steps `weights` with `grads`; trainStep is both with the model's own paper-SGD optimiser. */
  backward(x: Float32Array, shape: [number, number, number, number], labels: Int32Array, opts?: BackwardOptions): Promise<number>;
  /** The parameter arena: one flat tensor carved into named views (initialised on first access). */
  readonly weights: Arena;
  /** The gradient arena, allocated on the first backward (inference never has one). */
  readonly grads: Arena;
  /** Forward + backward without the update: loss and a copy of every parameter gradient (for tests). */
  lossAndGrads(x: Float32Array, shape: [number, number, number, number], labels: Int32Array, opts?: { dropout?: boolean; dropoutSeed?: number }): Promise<{ loss: number; logits: Float32Array; grads: StateDict }>;

  stateDict(): Promise<StateDict>;
  /** Copies weights in; names and shapes must match exactly (errors name the offending entry). */
  loadStateDict(sd: StateDict | FileStateDict): Promise<void>;
  /** The whole parameter arena and momentum arena, for checkpoints (one write each). */
  getArenas(): Promise<{ params: Float32Array; momentum: Float32Array }>;
  setArenas(a: { params: Float32Array; momentum?: Float32Array }): Promise<void>;

  summary(inputSize?: number): SummaryRow[];
  dispose(): void;
}

/** How raw pixels become network input: resize shorter side to `resize`, centre crop resize x resize,
 *  then a `crop` x `crop` crop; value = (pixel/255 - mean[c]) / std[c]. The paper's plain mean subtraction
 *  in 0..255 units is std = [1/255, 1/255, 1/255]. `meanImage` (optional) names a per-pixel mean file
 *  (float32 HWC at resize x resize, 0..1 units) that replaces `mean` when present. */
export interface Preprocessing {
  resize: number;
  crop: number;
  mean: [number, number, number];
  std: [number, number, number];
  meanImage?: string;
}

/** Metadata carried with weights (safetensors __metadata__, checkpoints, ONNX metadata_props). */
export interface WeightsMeta {
  variant: Variant;
  classes: number;
  classNames: string[];
  preprocessing: Preprocessing;
  /** Reduced-width models (tests, demos): ModelConfig.widthScale / hidden. Omitted for real AlexNet. */
  widthScale?: number;
  hidden?: number;
}
