// AlexNet (both variants) implementing the Model contract on any Backend.
// Every public call enqueues all its ops synchronously and awaits once at the end (be.read), so a
// queued backend (native worker thread) runs a whole step without round trips.
import type { Backend, Tensor } from '../backend/backend.ts';
import type { ForwardContext, Layer, ParamSlot } from '../layers/layer.ts';
import { sgdStep } from '../optim/sgd.ts';
import { Arena, buildParamTable } from './arena.ts';
import { initArena } from './init.ts';
import { bindLayers, buildLayers, checkSupport, forwardBackward, forwardEval } from './network.ts';
import { defaultInputSize, layerSpecs, paramSpecs } from './spec.ts';
import type { ArchConfig } from './spec.ts';
import { summaryRows } from './summary.ts';
import type { Model, NamedArray, ParamEntry, StateDict, SummaryRow, TrainStepOptions, Variant } from './types.ts';

type Shape4 = [number, number, number, number];

export function paramTable(a: ArchConfig): ParamEntry[] {
  const shapes: { name: string; shape: number[] }[] = [];
  for (const l of paramSpecs(a)) {
    const w = l.kind === 'conv' ? [l.outC, l.inC / l.groups, l.kernel, l.kernel] : [l.outF, l.inF];
    const b = [l.kind === 'conv' ? l.outC : l.outF];
    shapes.push({ name: `${l.param}.weight`, shape: w }, { name: `${l.param}.bias`, shape: b });
  }
  return buildParamTable(shapes);
}

const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;

export class AlexNet implements Model {
  readonly variant: Variant;
  readonly classes: number;
  readonly inputSize: number;
  readonly params: readonly ParamEntry[];
  readonly paramCount: number;
  readonly weights: Arena;
  readonly grads: Arena;
  readonly momentum: Arena;
  private readonly nets = new Map<string, Layer[]>();
  private slots = new Map<string, ParamSlot>();
  private disposed = false;

  constructor(readonly backend: Backend, readonly arch: ArchConfig, seed: number, private readonly ownsBackend = false) {
    this.variant = arch.variant;
    this.classes = arch.classes;
    this.inputSize = defaultInputSize(arch.variant);
    this.params = paramTable(arch);
    this.paramCount = this.params.reduce((s, e) => s + e.size, 0);
    checkSupport(backend, layerSpecs(arch, this.inputSize, this.inputSize));
    this.weights = new Arena(backend, this.params, initArena(arch, this.params, seed));
    this.grads = new Arena(backend, this.params);
    this.momentum = new Arena(backend, this.params);
    this.rebind();
  }

  /** The executable layers for an h x w input (the paper net adds an adaptive pool off 227). */
  network(h: number, w: number): Layer[] {
    const key = `${h}x${w}`;
    let layers = this.nets.get(key);
    if (!layers) {
      layers = buildLayers(layerSpecs(this.arch, h, w));
      bindLayers(layers, this.slots);
      this.nets.set(key, layers);
    }
    return layers;
  }

  async forward(x: Float32Array, shape: Shape4): Promise<Float32Array> {
    return this.evalTo(x, shape, undefined);
  }

  async embed(x: Float32Array, shape: Shape4): Promise<Float32Array> {
    return this.evalTo(x, shape, 'relu7');
  }

  async activations(x: Float32Array, shape: Shape4): Promise<Record<string, NamedArray>> {
    const be = this.backend;
    const xt = this.upload(x, shape);
    const keep = new Map<string, Tensor>();
    forwardEval(be, this.network(shape[2], shape[3]), xt, undefined, keep);
    const names = [...keep.keys()];
    const datas = await Promise.all(names.map((n) => be.read(keep.get(n)!)));
    const out: Record<string, NamedArray> = {};
    names.forEach((n, i) => { out[n] = { shape: [...keep.get(n)!.shape], data: datas[i] as Float32Array }; });
    be.free(xt, ...new Set(keep.values()));
    return out;
  }

  async trainStep(x: Float32Array, shape: Shape4, labels: Int32Array, opts: TrainStepOptions): Promise<number> {
    if (!(opts.lr >= 0) || !Number.isFinite(opts.lr)) throw new Error(`trainStep: lr must be a finite number >= 0, got ${opts.lr}`);
    const be = this.backend;
    const sgd = { lr: opts.lr, momentum: opts.momentum ?? 0.9, weightDecay: opts.weightDecay ?? 5e-4 };
    const ctx = { train: true, dropout: opts.dropout ?? true, dropoutSeed: opts.dropoutSeed ?? 0 };
    const { loss } = this.backprop(x, shape, labels, ctx, false, opts.paramLr ? this.frozenFront(opts.paramLr) : 0);
    if (opts.paramLr) this.sgdGroups(opts.paramLr, sgd);
    else sgdStep(be, this.weights.base, this.grads.base, this.momentum.base, sgd);
    const v = (await be.read(loss))[0];
    be.free(loss);
    return v;
  }

  async lossAndGrads(x: Float32Array, shape: Shape4, labels: Int32Array, opts: { dropout?: boolean; dropoutSeed?: number } = {}): Promise<{ loss: number; logits: Float32Array; grads: StateDict }> {
    const be = this.backend;
    const { loss, logits } = this.backprop(x, shape, labels, { train: true, dropout: opts.dropout ?? true, dropoutSeed: opts.dropoutSeed ?? 0 }, true);
    const [l, lg, g] = await Promise.all([be.read(loss), be.read(logits), this.grads.read()]);
    be.free(loss, logits);
    return { loss: l[0], logits: lg as Float32Array, grads: this.split(g) };
  }

  async stateDict(): Promise<StateDict> {
    return this.split(await this.weights.read());
  }

  async loadStateDict(sd: StateDict): Promise<void> {
    this.alive();
    const known = new Set(this.params.map((e) => e.name));
    const unknown = Object.keys(sd).filter((k) => !known.has(k));
    const missing = this.params.filter((e) => !(e.name in sd)).map((e) => e.name);
    if (unknown.length || missing.length) {
      const parts = [];
      if (unknown.length) parts.push(`unknown keys: ${unknown.join(', ')}`);
      if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
      throw new Error(`loadStateDict (${this.variant}): ${parts.join('; ')}`);
    }
    const data = new Float32Array(this.paramCount);
    for (const e of this.params) {
      const a = sd[e.name];
      if (!a || !Array.isArray(a.shape) || a.shape.length !== e.shape.length || a.shape.some((d, i) => d !== e.shape[i])) {
        throw new Error(`loadStateDict: ${e.name}: expected shape ${shapeStr(e.shape)}, got ${a && Array.isArray(a.shape) ? shapeStr(a.shape) : String(a?.shape)}`);
      }
      if (!a.data || a.data.length !== e.size) {
        throw new Error(`loadStateDict: ${e.name}: shape ${shapeStr(e.shape)} needs ${e.size} values, got ${a.data?.length}`);
      }
      data.set(a.data, e.offset);
    }
    this.weights.replace(data);
    this.rebind();
  }

  async getArenas(): Promise<{ params: Float32Array; momentum: Float32Array }> {
    const [params, momentum] = await Promise.all([this.weights.read(), this.momentum.read()]);
    return { params, momentum };
  }

  /** Without `momentum` the optimiser state restarts at zero (fresh weights, fresh velocity). */
  async setArenas(a: { params: Float32Array; momentum?: Float32Array }): Promise<void> {
    this.alive();
    if (a.params.length !== this.paramCount) throw new Error(`setArenas: params has ${a.params.length} values, the ${this.variant} model needs ${this.paramCount}`);
    if (a.momentum && a.momentum.length !== this.paramCount) throw new Error(`setArenas: momentum has ${a.momentum.length} values, the model needs ${this.paramCount}`);
    this.weights.replace(a.params);
    if (a.momentum) this.momentum.replace(a.momentum);
    else this.momentum.zero();
    this.rebind();
  }

  summary(inputSize?: number): SummaryRow[] {
    return summaryRows(this.arch, inputSize ?? this.inputSize);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.weights.dispose(); this.grads.dispose(); this.momentum.dispose();
    this.nets.clear();
    if (this.ownsBackend) this.backend.dispose();
  }

  // --- internals ---

  // --- per-group learning rates (fine-tuning) ---

  private lrScale(name: string, paramLr: Readonly<Record<string, number>>): number {
    let best = '', scale = 1;
    for (const [prefix, v] of Object.entries(paramLr)) {
      if ((name === prefix || name.startsWith(`${prefix}.`)) && prefix.length > best.length) { best = prefix; scale = v; }
    }
    if (!(scale >= 0) || !Number.isFinite(scale)) throw new Error(`trainStep: paramLr for ${name} must be a finite number >= 0, got ${scale}`);
    return scale;
  }

  /** How many leading layers need no backward: those before the first parameter layer that trains. */
  private frozenFront(paramLr: Readonly<Record<string, number>>): number {
    const first = this.params.find((e) => this.lrScale(e.name, paramLr) > 0);
    return first ? this.params.indexOf(first) : this.params.length;
  }

  /** One sgd per run of consecutive parameters with the same multiplier (views into the arenas); frozen runs are skipped. */
  private sgdGroups(paramLr: Readonly<Record<string, number>>, sgd: { lr: number; momentum: number; weightDecay: number }): void {
    const be = this.backend;
    const runs: { offset: number; size: number; scale: number }[] = [];
    for (const e of this.params) {
      const scale = this.lrScale(e.name, paramLr), last = runs.at(-1);
      if (last && last.scale === scale && last.offset + last.size === e.offset) last.size += e.size;
      else runs.push({ offset: e.offset, size: e.size, scale });
    }
    for (const r of runs) {
      if (r.scale === 0) continue;
      const [w, dw, v] = [this.weights.base, this.grads.base, this.momentum.base].map((t) => be.view(t, r.offset, [r.size]));
      sgdStep(be, w, dw, v, { ...sgd, lr: sgd.lr * r.scale });
      be.free(w, dw, v);
    }
  }

  /** Zero grads, forward with caches, loss, backward. Returns loss (and logits when asked); caller frees.
   *  `frozenParams`: the first N parameter entries train not at all, so their layers are not backpropagated. */
  backprop(x: Float32Array, shape: Shape4, labels: Int32Array, ctx: ForwardContext, keepLogits: boolean, frozenParams = 0): { loss: Tensor; logits: Tensor } {
    const be = this.backend;
    if (labels.length !== shape[0]) throw new Error(`labels: expected ${shape[0]} labels (batch size), got ${labels.length}`);
    for (let i = 0; i < labels.length; i++) {
      if (!(labels[i] >= 0 && labels[i] < this.classes)) throw new Error(`labels[${i}] = ${labels[i]} is outside [0, ${this.classes})`);
    }
    const layers = this.network(shape[2], shape[3]);
    const xt = this.upload(x, shape);
    const lt = be.upload(labels, [labels.length]);
    this.grads.zero();
    const frozen = new Set(this.params.slice(0, frozenParams).map((e) => e.name.replace(/\.(weight|bias)$/, '')));
    let firstTrained = layers.findIndex((l) => l.param !== undefined && !frozen.has(l.param));
    if (firstTrained < 0) firstTrained = layers.length;
    const r = forwardBackward(be, layers, xt, lt, ctx, keepLogits, frozenParams > 0 ? firstTrained : 0);
    be.free(lt);
    return r;
  }

  private async evalTo(x: Float32Array, shape: Shape4, stopAfter: string | undefined): Promise<Float32Array> {
    const be = this.backend;
    const layers = this.network(shape[2], shape[3]);
    const y = forwardEval(be, layers, this.upload(x, shape), stopAfter);
    const out = (await be.read(y)) as Float32Array;
    be.free(y);
    return out;
  }

  private upload(x: Float32Array, shape: Shape4): Tensor {
    this.alive();
    if (!Array.isArray(shape) || shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`input shape must be [N, 3, H, W] with positive integers, got ${JSON.stringify(shape)}`);
    }
    if (shape[1] !== 3) throw new Error(`input must have 3 channels (N, 3, H, W), got shape ${shapeStr(shape)}`);
    const n = shape[0] * shape[1] * shape[2] * shape[3];
    if (x.length !== n) throw new Error(`input has ${x.length} values, shape ${shapeStr(shape)} needs ${n}`);
    this.network(shape[2], shape[3]); // validates the size before anything is allocated
    return this.backend.upload(x, shape);
  }

  private split(flat: Float32Array | Int32Array): StateDict {
    const sd: StateDict = {};
    for (const e of this.params) sd[e.name] = { shape: [...e.shape], data: (flat as Float32Array).slice(e.offset, e.offset + e.size) };
    return sd;
  }

  private rebind(): void {
    this.slots = new Map();
    for (const l of paramSpecs(this.arch)) {
      const w = `${l.param}.weight`, b = `${l.param}.bias`;
      this.slots.set(l.param, { w: this.weights.view(w), b: this.weights.view(b), dw: this.grads.view(w), db: this.grads.view(b) });
    }
    for (const layers of this.nets.values()) bindLayers(layers, this.slots);
  }

  private alive(): void {
    if (this.disposed) throw new Error('model was disposed');
  }
}
