// An int8 AlexNet: the Model contract for inference, run by the native addon's QuantNet (addon/src/quant.cc:
// oneDNN int8 convolutions and inner products, VNNI where the CPU has it). Where no int8 kernels exist (ref,
// webgpu, an addon without QuantNet) createQuantizedModel dequantises into an ordinary f32 AlexNet instead.
// Inference only: training calls refuse; stateDict/activations answer from the dequantised weights.
import type { Backend } from '../backend/backend.ts';
import { loadAddon } from '../backend/native/addon.ts';
import { AlexNet, paramTable } from './alexnet.ts';
import { dequantize, type QuantizedWeights } from './quantize.ts';
import { defaultInputSize, layerSpecs, POOL_OUT, type LayerSpec } from './spec.ts';
import { summaryRows } from './summary.ts';
import type { Model, NamedArray, ParamEntry, StateDict, SummaryRow, Variant } from './types.ts';
import type { Arena } from './arena.ts';

type Shape4 = [number, number, number, number];

/** addon/src/quant.cc's class (optional: an older addon build has none). */
interface QuantNetCtor { new (layers: object[], threads: number): QuantNet }
interface QuantNet {
  forward(x: Float32Array, n: number, h: number, w: number, depth: number): Promise<Float32Array>;
  setThreads(n: number): void;
  dispose(): void;
}

/** The native layer list: conv/linear with their int8 tensors and a fused-ReLU flag, pools and LRN; dropout and
 *  flatten are no-ops in inference. The adaptive pool is always listed (the addon skips it when the map is 6x6). */
function nativeLayers(qw: QuantizedWeights): { layers: object[]; names: string[] } {
  const side = defaultInputSize(qw.arch.variant);
  const specs: LayerSpec[] = layerSpecs(qw.arch, side, side);
  if (!specs.some((s) => s.kind === 'avgpool')) specs.splice(specs.findIndex((s) => s.kind === 'flatten'), 0, { kind: 'avgpool', name: 'avgpool', out: POOL_OUT });
  const layers: object[] = [], names: string[] = [];
  specs.forEach((s, i) => {
    const relu = specs[i + 1]?.kind === 'relu';
    switch (s.kind) {
      case 'conv': case 'linear': {
        const l = qw.layers[s.param];
        layers.push({ kind: s.kind, w: l.w, shape: l.shape, wScale: l.wScale, bias: l.bias, inScale: l.inScale, relu,
          ...(s.kind === 'conv' ? { stride: s.stride, pad: s.pad, groups: s.groups } : {}) });
        break;
      }
      case 'maxpool': layers.push({ kind: 'maxpool', kernel: s.kernel, stride: s.stride, pad: s.pad }); break;
      // oneDNN divides alpha by the window size, as PyTorch does; the paper does not
      case 'lrn': layers.push({ kind: 'lrn', size: s.attrs.size, alpha: s.attrs.convention === 'paper' ? s.attrs.alpha * s.attrs.size : s.attrs.alpha, beta: s.attrs.beta, k: s.attrs.k }); break;
      case 'avgpool': layers.push({ kind: 'avgpool', out: s.out }); break;
      default: return;
    }
    names.push(s.name);
  });
  return { layers, names };
}

export class QuantizedAlexNet implements Model {
  readonly variant: Variant;
  readonly classes: number;
  readonly inputSize: number;
  readonly params: readonly ParamEntry[];
  readonly paramCount: number;
  private readonly net: QuantNet;
  private readonly depthLogits: number;
  private readonly depthEmbed: number;
  private f32?: Promise<AlexNet>;
  private disposed = false;

  constructor(readonly backend: Backend, readonly quantized: QuantizedWeights, Net: QuantNetCtor) {
    this.variant = quantized.arch.variant;
    this.classes = quantized.arch.classes;
    this.inputSize = defaultInputSize(this.variant);
    this.params = paramTable(quantized.arch);
    this.paramCount = this.params.reduce((s, e) => s + e.size, 0);
    const { layers, names } = nativeLayers(quantized);
    this.net = new Net(layers, backend.threads);
    this.depthLogits = layers.length;
    this.depthEmbed = names.indexOf('fc7') + 1;
  }

  forward(x: Float32Array, shape: Shape4): Promise<Float32Array> { return this.run(x, shape, this.depthLogits); }
  embed(x: Float32Array, shape: Shape4): Promise<Float32Array> { return this.run(x, shape, this.depthEmbed); }

  private run(x: Float32Array, shape: Shape4, depth: number): Promise<Float32Array> {
    this.alive();
    if (!Array.isArray(shape) || shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`input shape must be [N, 3, H, W] with positive integers, got ${JSON.stringify(shape)}`);
    }
    if (shape[1] !== 3) throw new Error(`input must have 3 channels (N, 3, H, W), got shape [${shape.join(', ')}]`);
    const n = shape[0] * 3 * shape[2] * shape[3];
    if (x.length !== n) throw new Error(`input has ${x.length} values, shape [${shape.join(', ')}] needs ${n}`);
    layerSpecs(this.quantized.arch, shape[2], shape[3]); // the size check (too small an input)
    this.net.setThreads(this.backend.threads);
    return this.net.forward(x, shape[0], shape[2], shape[3], depth);
  }

  /** The dequantised f32 model on the same backend (activations, stateDict), built on first use. */
  private fp32(): Promise<AlexNet> {
    return (this.f32 ??= (async () => {
      const m = new AlexNet(this.backend, this.quantized.arch, 0);
      await m.loadStateDict(dequantize(this.quantized));
      return m;
    })());
  }

  async activations(x: Float32Array, shape: Shape4): Promise<Record<string, NamedArray>> {
    this.alive();
    return (await this.fp32()).activations(x, shape);
  }
  async stateDict(): Promise<StateDict> { this.alive(); return dequantize(this.quantized); }

  private inferenceOnly(what: string): Error {
    return new Error(`${what}: int8 weights are for inference only (train the f32 weights, then quantize them)`);
  }
  get weights(): Arena { throw this.inferenceOnly('weights'); }
  get grads(): Arena { throw this.inferenceOnly('grads'); }
  async trainStep(): Promise<number> { throw this.inferenceOnly('trainStep'); }
  async backward(): Promise<number> { throw this.inferenceOnly('backward'); }
  async lossAndGrads(): Promise<{ loss: number; logits: Float32Array; grads: StateDict }> { throw this.inferenceOnly('lossAndGrads'); }
  async loadStateDict(): Promise<void> { throw this.inferenceOnly('loadStateDict'); }
  async getArenas(): Promise<{ params: Float32Array; momentum: Float32Array }> { throw this.inferenceOnly('getArenas'); }
  async setArenas(): Promise<void> { throw this.inferenceOnly('setArenas'); }

  summary(inputSize?: number): SummaryRow[] { return summaryRows(this.quantized.arch, inputSize ?? this.inputSize); }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.net.dispose();
    void this.f32?.then((m) => m.dispose(), () => {});
  }

  private alive(): void {
    if (this.disposed) throw new Error('model was disposed');
  }
}

/** The int8 kernels of this backend, if it has any. */
function quantNetFor(be: Backend): QuantNetCtor | undefined {
  if (be.name !== 'native') return undefined;
  try {
    return (loadAddon() as unknown as { QuantNet?: QuantNetCtor }).QuantNet;
  } catch {
    return undefined;
  }
}

/** A model for int8 weights: int8 on the native backend, else (one line on stderr) the dequantised f32 model. */
export async function createQuantizedModel(qw: QuantizedWeights, be: Backend, opts: { quiet?: boolean } = {}): Promise<Model> {
  const Net = quantNetFor(be);
  if (Net) return new QuantizedAlexNet(be, qw, Net);
  if (!opts.quiet && process.env.ALEXNET_QUIET !== '1') {
    console.warn(`[alexnet] the ${be.name} backend has no int8 kernels: int8 weights dequantized to f32 (f32 speed)`);
  }
  const m = new AlexNet(be, qw.arch, 0);
  await m.loadStateDict(dequantize(qw));
  return m;
}
