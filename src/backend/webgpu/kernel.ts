// The WGSL kernel format and the dispatcher every op file uses.
//
// A kernel is declared as its storage bindings, its uniform scalars and a body; `wgsl()` writes the
// module around it: one uniform struct `u` whose first fields are the element offset of every binding
// inside its bound window (`u.o_x` for binding x), then the storage arrays, then `main` with
//   gi: flat global invocation index (1-D kernels; dispatches past 65535 workgroups wrap into y),
//   wi: flat workgroup index, li: local index (workgroup-per-output reductions), lid/wid: the raw ids.
// Bodies guard their own bounds (`if (gi >= u.n) { return; }`).
//
// Bindings are windows, never whole buffers: an arena view starts at an element offset that is rarely
// 256-byte aligned, and one binding may not exceed the adapter's maxStorageBufferBindingSize (128 MiB on
// Mesa), so each binding covers only [start, start + count) of its tensor, from the aligned byte below.
// Ops over tensors larger than one binding (sgd/fill over an arena, fc6's weight) split their work
// (see `chunks`).
//
// All work of a step goes into one command encoder, one compute pass per dispatch; it is submitted when
// something is read, on sync, or every FLUSH_EVERY dispatches.
import { ShapeError, sizeOf, type DType } from '../backend.ts';
import { shapeStr, WebGpuTensor, type Storage } from './tensor.ts';

// GPUBufferUsage / GPUMapMode values (spec constants; written out so Node needs no globals installed).
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ = 0x1;

export interface KernelSpec {
  /** Unique name (pipeline cache key). */
  readonly name: string;
  /** Storage bindings in order, 'name:type' read-only or 'name:type:rw' writable; type f32 | i32 | u32. */
  readonly bufs: readonly string[];
  /** Uniform scalars after the offsets: 'N:u32', 'lr:f32', 'v:i32'. */
  readonly uni: readonly string[];
  /** Workgroup size: x or [x, y]. */
  readonly wg: number | readonly [number, number];
  /** Module-scope WGSL (workgroup arrays, helper functions). */
  readonly head?: string;
  readonly body: string;
}

export function wgsl(k: KernelSpec): string {
  const bufs = k.bufs.map((b) => b.split(':'));
  const fields = [...bufs.map(([n]) => `o_${n}: u32`), ...k.uni.map((f) => f.replace(':', ': '))];
  const [wx, wy] = typeof k.wg === 'number' ? [k.wg, 1] : k.wg;
  return [
    `struct U { ${fields.join(', ')} }`,
    '@group(0) @binding(0) var<uniform> u: U;',
    ...bufs.map(([n, t, rw], i) => `@group(0) @binding(${i + 1}) var<storage, ${rw === 'rw' ? 'read_write' : 'read'}> ${n}: array<${t}>;`),
    k.head ?? '',
    `@compute @workgroup_size(${wx}, ${wy})`,
    'fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u,',
    '        @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {',
    `  let gi = gid.x + gid.y * nwg.x * ${wx}u;`,
    '  let wi = wid.x + wid.y * nwg.x;',
    '  let li = lid.x;',
    k.body,
    '}',
  ].join('\n');
}

/** A range of elements of a tensor to bind (default: all of it). */
export interface Win { t: WebGpuTensor; start?: number; count?: number }
export type Bind = WebGpuTensor | Win;
/** Threads of a 1-D kernel, or workgroups of a 1-D (wrapping) / 2-D kernel. */
export type Grid = { threads: number } | { groups: number } | { wg3: [number, number, number] };

const FLUSH_EVERY = 64;
const MAX_DIM = 65535;

export class WgCtx {
  readonly maxBinding: number;
  readonly align: number;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private enc: GPUCommandEncoder | undefined;
  private pending = 0;
  private trash: GPUBuffer[] = [];
  private onesT: WebGpuTensor | undefined;
  /** First asynchronous device error (shader compile, validation, out of memory); thrown on read/sync. */
  error: string | undefined;

  constructor(readonly device: GPUDevice, maxBinding?: number) {
    this.maxBinding = Math.min(maxBinding ?? Infinity, device.limits.maxStorageBufferBindingSize);
    this.align = device.limits.minStorageBufferOffsetAlignment;
  }

  // --- memory ---

  newStorage(bytes: number, extraUsage = 0): Storage {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    if (size > this.device.limits.maxBufferSize) {
      throw new Error(`webgpu: a ${(size / 2 ** 20).toFixed(0)} MiB tensor exceeds this adapter's maxBufferSize (${(this.device.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB)`);
    }
    const buffer = this.device.createBuffer({ size, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST | extraUsage });
    return { buffer, refs: 1, bytes: size };
  }

  alloc(shape: readonly number[], dtype: DType = 'f32'): WebGpuTensor {
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError('alloc', `invalid shape ${JSON.stringify(shape)}`);
    return new WebGpuTensor([...shape], dtype, this.newStorage(sizeOf(shape) * 4), 0);
  }

  /** A new tensor holding a copy of data (written while mapped: nothing queued has to be submitted first). */
  fromData(shape: readonly number[], data: Float32Array | Int32Array): WebGpuTensor {
    const t = this.alloc(shape, data instanceof Int32Array ? 'i32' : 'f32');
    if (data.length) this.device.queue.writeBuffer(t.storage.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return t;
  }

  /** A tensor of at least n ones (kept and grown as needed): the row vector that turns sums into a gemm. */
  ones(n: number): WebGpuTensor {
    if (!this.onesT || this.onesT.size < n) {
      if (this.onesT) this.release(this.onesT);
      const size = Math.max(n, 256);
      const buffer = this.device.createBuffer({ size: size * 4, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, mappedAtCreation: true });
      new Float32Array(buffer.getMappedRange()).fill(1);
      buffer.unmap();
      this.onesT = new WebGpuTensor([size], 'f32', { buffer, refs: 1, bytes: size * 4 }, 0);
    }
    return this.onesT;
  }

  /** Drop one reference; the buffer goes once no tensor uses it and queued work is submitted. */
  release(t: WebGpuTensor): void {
    if (--t.storage.refs === 0) this.trash.push(t.storage.buffer);
  }

  // --- kernels ---

  private pipeline(k: KernelSpec): GPUComputePipeline {
    let p = this.pipelines.get(k.name);
    if (!p) {
      const module = this.device.createShaderModule({ code: wgsl(k), label: k.name });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: k.name });
      this.pipelines.set(k.name, p);
    }
    return p;
  }

  private encoder(): GPUCommandEncoder {
    this.enc ??= this.device.createCommandEncoder();
    return this.enc;
  }

  /** The aligned byte window covering elements [start, start + count) of t, and the element offset inside it. */
  window(op: string, name: string, b: Bind): { res: GPUBufferBinding; off: number } {
    const w: Win = b instanceof WebGpuTensor ? { t: b } : b;
    const start = w.t.offset + (w.start ?? 0), count = w.count ?? w.t.size - (w.start ?? 0);
    const byte0 = Math.floor((start * 4) / this.align) * this.align;
    const size = Math.max(4, (start + count) * 4 - byte0);
    if (size > this.maxBinding) {
      throw new ShapeError(op, `${name} ${shapeStr(w.t.shape)} needs a ${(size / 2 ** 20).toFixed(1)} MiB binding; this adapter allows ${(this.maxBinding / 2 ** 20).toFixed(0)} MiB (use a smaller batch)`);
    }
    return { res: { buffer: w.t.storage.buffer, offset: byte0, size: Math.min(size, w.t.storage.bytes - byte0) }, off: start - byte0 / 4 };
  }

  /** Enqueue one dispatch. `binds` in the kernel's binding order; `uni` by name. */
  run(k: KernelSpec, binds: Record<string, Bind>, uni: Record<string, number>, grid: Grid): void {
    const names = k.bufs.map((b) => b.split(':')[0]);
    const wins = names.map((n) => {
      const b = binds[n];
      if (!b) throw new Error(`webgpu kernel ${k.name}: binding ${n} missing`);
      return this.window(k.name, n, b);
    });
    const fields = k.uni.map((f) => f.split(':'));
    const ubytes = Math.ceil(((names.length + fields.length) * 4) / 16) * 16;
    const ubuf = this.device.createBuffer({ size: Math.max(16, ubytes), usage: USAGE.UNIFORM, mappedAtCreation: true });
    const m = ubuf.getMappedRange(), u32 = new Uint32Array(m), i32 = new Int32Array(m), f32 = new Float32Array(m);
    wins.forEach((w, i) => { u32[i] = w.off; });
    fields.forEach(([n, t], j) => {
      const v = uni[n], i = names.length + j;
      if (v === undefined || !Number.isFinite(v)) throw new Error(`webgpu kernel ${k.name}: uniform ${n} = ${v}`);
      if (t === 'f32') f32[i] = v; else if (t === 'i32') i32[i] = v; else u32[i] = v >>> 0;
    });
    ubuf.unmap();
    const p = this.pipeline(k);
    const group = this.device.createBindGroup({
      layout: p.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: ubuf } }, ...wins.map((w, i) => ({ binding: i + 1, resource: w.res }))],
    });
    let gx: number, gy = 1, gz = 1;
    if ('wg3' in grid) [gx, gy, gz] = grid.wg3;
    else {
      const wx = typeof k.wg === 'number' ? k.wg : k.wg[0];
      const g = 'threads' in grid ? Math.ceil(grid.threads / wx) : grid.groups;
      gx = Math.min(g, MAX_DIM); gy = Math.ceil(g / MAX_DIM);
    }
    this.trash.push(ubuf);
    if (gx === 0 || gy === 0 || gz === 0) return;
    if (gy > MAX_DIM || gz > MAX_DIM) throw new Error(`webgpu kernel ${k.name}: ${gx}x${gy}x${gz} workgroups is too many`);
    const pass = this.encoder().beginComputePass();
    pass.setPipeline(p);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(gx, gy, gz);
    pass.end();
    if (++this.pending >= FLUSH_EVERY) this.flush();
  }

  copy(src: WebGpuTensor, dst: WebGpuTensor, count: number): void {
    if (count > 0) this.encoder().copyBufferToBuffer(src.storage.buffer, src.offset * 4, dst.storage.buffer, dst.offset * 4, count * 4);
  }

  flush(): void {
    if (this.enc) {
      this.device.queue.submit([this.enc.finish()]);
      this.enc = undefined;
      this.pending = 0;
    }
    // destroy() after submit waits for the submitted work that uses the buffer (WebGPU semantics)
    for (const b of this.trash) b.destroy();
    this.trash = [];
  }

  async readBytes(t: WebGpuTensor): Promise<ArrayBuffer> {
    const bytes = t.size * 4;
    if (bytes === 0) return new ArrayBuffer(0);
    const staging = this.device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    this.encoder().copyBufferToBuffer(t.storage.buffer, t.offset * 4, staging, 0, bytes);
    this.flush();
    await staging.mapAsync(MAP_READ);
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    this.check();
    return out;
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  check(): void {
    if (this.error) {
      const e = this.error;
      this.error = undefined;
      throw new Error(`webgpu: ${e}`);
    }
  }
}

/** [start, count) pieces of n items so that each piece's binding fits (an item is `perElem` floats: one element,
 *  a weight row, an image); at most `cap` items per piece. */
export function chunks(ctx: WgCtx, n: number, perElem = 1, cap = Infinity): [number, number][] {
  const max = Math.max(1, Math.min(cap, Math.floor((ctx.maxBinding - ctx.align) / (4 * perElem))));
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += max) out.push([s, Math.min(max, n - s)]);
  return out;
}

/** WGSL for a 64-wide workgroup sum of `v` into red[0] (all threads call it; result valid after). */
export const REDUCE_HEAD = `
var<workgroup> red: array<f32, 64>;
fn wgSum(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wgMax(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
