// AlexNet (both variants) implementing the Model contract on any Backend.
// Every public call enqueues all its ops synchronously and awaits once at the end (be.read), so a
// queued backend (native worker thread) runs a whole step without round trips.
// Training state is allocated on demand: a model that only infers holds its parameter arena and nothing
// else. The seeded initialisation runs on first use unless weights are loaded first (load, setArenas);
// the gradient arena appears on the first backward, the velocity with the optimiser's first step.
import type { Backend, Tensor } from '../backend/backend.ts';
import type { ForwardContext, Layer, ParamSlot } from '../layers/layer.ts';
import { Sgd, frozenFront } from '../optim/sgd.ts';
import { Arena, buildParamTable } from './arena.ts';
import { initArenaSlices } from './init.ts';
import { bindLayers, buildLayers, forwardBackward, forwardEval } from './network.ts';
import { checkStateDict, defaultInputSize, layerSpecs, paramShapes, paramSpecs } from './spec.ts';
import type { ArchConfig } from './spec.ts';
import { summaryRows } from './summary.ts';
import type { BackwardOptions, FileStateDict, Model, NamedArray, ParamEntry, StateDict, SummaryRow, TrainStepOptions, Variant } from './types.ts';

type Shape4 = [number, number, number, number];

export function paramTable(a: ArchConfig): ParamEntry[] {
  return buildParamTable(paramShapes(a));
}

/** Values per write while loading weights (16 MiB of f32). */
const WRITE_SLICE = 1 << 22;

const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;

export class AlexNet implements Model {
  readonly variant: Variant;
  readonly classes: number;
  readonly inputSize: number;
  readonly params: readonly ParamEntry[];
  readonly paramCount: number;
  private readonly paramArena: Arena;
  private gradArena?: Arena;
  /** The optimiser behind trainStep/getArenas/setArenas (created on first use). Trainers may use their own Sgd. */
  private sgd?: Sgd;
  private initialised = false;
  private readonly nets = new Map<string, Layer[]>();
  private readonly slots = new Map<string, ParamSlot>();
  // eval forwards recorded once per input shape and output layer, where the backend can replay them (record):
  // null where it cannot
  private readonly replays = new Map<string, ((inputs: readonly Tensor[]) => Tensor) | null>();
  private disposed = false;

  constructor(readonly backend: Backend, readonly arch: ArchConfig, private readonly seed: number, private readonly ownsBackend = false) {
    this.variant = arch.variant;
    this.classes = arch.classes;
    this.inputSize = defaultInputSize(arch.variant);
    this.params = paramTable(arch);
    this.paramCount = this.params.reduce((s, e) => s + e.size, 0);
    this.paramArena = new Arena(backend, this.params);
    for (const l of paramSpecs(arch)) {
      const w = `${l.param}.weight`, b = `${l.param}.bias`, self = this;
      this.slots.set(l.param, {
        w: this.paramArena.view(w), b: this.paramArena.view(b),
        get dw() { return self.grads.view(w); }, get db() { return self.grads.view(b); },
      });
    }
  }

  /** The parameter arena (initialised on first access unless weights were loaded). */
  get weights(): Arena {
    this.ensureInit();
    return this.paramArena;
  }

  /** The gradient arena, allocated on the first backward. */
  get grads(): Arena {
    this.alive();
    return (this.gradArena ??= new Arena(this.backend, this.params));
  }

  /** The model's own optimiser (trainStep's), created on first use with the paper's settings. */
  get optimizer(): Sgd {
    return (this.sgd ??= new Sgd(this));
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
    const loss = this.backward(x, shape, labels, opts);
    this.optimizer.step(opts.lr, { momentum: opts.momentum, weightDecay: opts.weightDecay, paramLr: opts.paramLr });
    return loss;
  }

  /** Loss and gradients of one batch (the optimiser steps separately). With `paramLr`, the leading layers
   *  whose multiplier is 0 (frozen) are not backpropagated at all. */
  backward(x: Float32Array, shape: Shape4, labels: Int32Array, opts: BackwardOptions = {}): Promise<number> {
    const be = this.backend;
    const ctx = { train: true, dropout: opts.dropout ?? true, dropoutSeed: opts.dropoutSeed ?? 0, sampleOffset: opts.sampleOffset, onParamGrads: opts.onParamGrads };
    const { loss } = this.backprop(x, shape, labels, ctx, false, opts.paramLr ? frozenFront(this.params, opts.paramLr) : 0);
    return be.read(loss).then((v) => { be.free(loss); return v[0]; });
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

  async loadStateDict(sd: StateDict | FileStateDict): Promise<void> {
    this.alive();
    checkStateDict(sd, this.arch, 'loadStateDict');
    this.initialised = true;
    // Straight into the parameter arena, in slices of at most WRITE_SLICE values, waiting for the queue
    // every few slices: a queued backend stages each write's data, so this bounds the staging to a few
    // slices instead of the whole arena (244 MB torchvision: peak RSS 1.0 -> see docs/performance.md).
    const be = this.backend, base = this.paramArena.base;
    let pending = 0;
    for (const e of this.params) {
      const { data: d, range } = sd[e.name] as FileStateDict[string];
      if (!d && !range) throw new Error(`loadStateDict: ${e.name} has neither data nor a file range`);
      if (!d && be.writeFile) {
        // still in its file and the backend reads files: one pread into the arena, nothing staged on the host
        const v = be.view(base, e.offset, [e.size]);
        be.writeFile(v, range!.file, range!.offset);
        be.free(v);
        continue;
      }
      const data = d ?? await range!.read();
      for (let i = 0; i < e.size; i += WRITE_SLICE) {
        const n = Math.min(WRITE_SLICE, e.size - i);
        this.writeParams(e.offset + i, n === data.length ? data : data.subarray(i, i + n));
        if ((pending += n) >= 4 * WRITE_SLICE) { await be.sync(); pending = 0; }
      }
    }
    await be.sync();
  }

  async getArenas(): Promise<{ params: Float32Array; momentum: Float32Array }> {
    const [params, momentum] = await Promise.all([this.weights.read(), this.optimizer.velocity()]);
    return { params, momentum };
  }

  /** Without `momentum` the optimiser state restarts at zero (fresh weights, fresh velocity). */
  async setArenas(a: { params: Float32Array; momentum?: Float32Array }): Promise<void> {
    this.alive();
    if (a.params.length !== this.paramCount) throw new Error(`setArenas: params has ${a.params.length} values, the ${this.variant} model needs ${this.paramCount}`);
    if (a.momentum && a.momentum.length !== this.paramCount) throw new Error(`setArenas: momentum has ${a.momentum.length} values, the model needs ${this.paramCount}`);
    this.initialised = true;
    this.paramArena.replace(a.params);
    if (a.momentum || this.sgd) this.optimizer.setVelocity(a.momentum);
  }

  summary(inputSize?: number): SummaryRow[] {
    return summaryRows(this.arch, inputSize ?? this.inputSize);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.paramArena.dispose(); this.gradArena?.dispose(); this.sgd?.dispose();
    this.nets.clear();
    this.replays.clear();
    if (this.ownsBackend) this.backend.dispose();
  }

  // --- internals ---

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
    const xt = this.upload(x, shape);
    const key = `${shape.join('x')}|${stopAfter ?? ''}`;
    const replay = this.replays.get(key);
    let y: Tensor;
    if (replay) y = replay([xt]);
    else if (replay === undefined && be.record) {
      const r = be.record([xt], ([t]) => forwardEval(be, layers, t, stopAfter));
      this.replays.set(key, r.replay ?? null);
      y = r.y;
    } else y = forwardEval(be, layers, xt, stopAfter);
    const out = (await be.read(y)) as Float32Array;
    be.free(y);
    return out;
  }

  /** The seeded initialisation, on first use of weights that were never loaded (host side, one write). */
  private ensureInit(): void {
    this.alive();
    if (this.initialised) return;
    initArenaSlices(this.arch, this.params, this.seed, WRITE_SLICE, (offset, values) => this.writeParams(offset, values));
    this.initialised = true;
  }

  /** values into the parameter arena at offset (through a view; the backend copies the data) */
  private writeParams(offset: number, values: Float32Array): void {
    const v = this.backend.view(this.paramArena.base, offset, [values.length]);
    this.backend.write(v, values);
    this.backend.free(v);
  }

  private upload(x: Float32Array, shape: Shape4): Tensor {
    this.ensureInit();
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

  private alive(): void {
    if (this.disposed) throw new Error('model was disposed');
  }
}
