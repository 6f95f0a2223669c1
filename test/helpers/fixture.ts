// Reader/writer for the alexnet-ts fixture format (Python side and full spec: tools/fixture_io.py).
//   bytes 0..7  "ALXFIX1\n"; bytes 8..15 header length H (u64 LE); then H bytes of space-padded JSON
//   {"generated_by", "meta", "scalars": {name: number}, "tensors": [{name, dtype: f32|i32, shape, offset, nbytes}]};
//   then little-endian row-major data, each tensor at an 8-aligned `offset` from the data start.
// Also: pythonPath() / havePythonTorch() so fixture tests can skip clearly without PyTorch.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const MAGIC = 'ALXFIX1\n';

export interface FixtureTensor { name: string; dtype: 'f32' | 'i32'; shape: number[]; data: Float32Array | Int32Array }

export class Fixture {
  constructor(
    readonly path: string,
    readonly generatedBy: string,
    readonly meta: Record<string, unknown>,
    readonly scalars: Record<string, number>,
    readonly tensors: Map<string, FixtureTensor>,
  ) {}
  has(name: string): boolean { return this.tensors.has(name); }
  get(name: string): FixtureTensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.path}: no tensor '${name}' (has: ${[...this.tensors.keys()].join(', ')})`);
    return t;
  }
  f32(name: string): Float32Array {
    const t = this.get(name);
    if (t.dtype !== 'f32') throw new Error(`${this.path}: tensor '${name}' is ${t.dtype}, not f32`);
    return t.data as Float32Array;
  }
  i32(name: string): Int32Array {
    const t = this.get(name);
    if (t.dtype !== 'i32') throw new Error(`${this.path}: tensor '${name}' is ${t.dtype}, not i32`);
    return t.data as Int32Array;
  }
  shape(name: string): number[] { return this.get(name).shape; }
  scalar(name: string): number {
    const v = this.scalars[name];
    if (typeof v !== 'number') throw new Error(`${this.path}: no scalar '${name}'`);
    return v;
  }
}

export function parseFixture(buf: Uint8Array, path = '<buffer>'): Fixture {
  if (buf.length < 16 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) {
    throw new Error(`${path}: not an alexnet-ts fixture (bad magic)`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = Number(dv.getBigUint64(8, true));
  if (16 + hlen > buf.length) throw new Error(`${path}: header length ${hlen} exceeds file size ${buf.length}`);
  const h = JSON.parse(new TextDecoder().decode(buf.subarray(16, 16 + hlen)));
  if (typeof h.generated_by !== 'string') throw new Error(`${path}: header lacks generated_by`);
  const base = 16 + hlen, tensors = new Map<string, FixtureTensor>();
  for (const e of h.tensors as { name: string; dtype: string; shape: number[]; offset: number; nbytes: number }[]) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.nbytes !== n * 4 || base + e.offset + e.nbytes > buf.length) throw new Error(`${path}: tensor '${e.name}' has bad size/offset`);
    // copy (Buffer.slice would be a view): aligned and detached from the file buffer
    const bytes = Uint8Array.prototype.slice.call(buf, base + e.offset, base + e.offset + e.nbytes);
    const data = e.dtype === 'f32' ? new Float32Array(bytes.buffer, 0, n)
      : e.dtype === 'i32' ? new Int32Array(bytes.buffer, 0, n)
        : (() => { throw new Error(`${path}: tensor '${e.name}' has unknown dtype ${e.dtype}`); })();
    tensors.set(e.name, { name: e.name, dtype: e.dtype as 'f32' | 'i32', shape: e.shape, data });
  }
  return new Fixture(path, h.generated_by, h.meta ?? {}, h.scalars ?? {}, tensors);
}

export function readFixture(path: string | URL): Fixture {
  return parseFixture(readFileSync(path), String(path));
}

export interface FixtureInput {
  generatedBy: string;
  meta?: Record<string, unknown>;
  scalars?: Record<string, number>;
  tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array }>;
}

/** Serialises to the same bytes layout tools/fixture_io.py writes (little-endian hosts only). */
export function serializeFixture(f: FixtureInput): Uint8Array {
  const entries: object[] = [], blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of Object.entries(f.tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`fixture tensor '${name}': ${t.data.length} elements for shape [${t.shape}]`);
    const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    entries.push({ name, dtype: t.data instanceof Int32Array ? 'i32' : 'f32', shape: t.shape, offset: off, nbytes: b.length });
    blobs.push(b);
    off += b.length + ((8 - (b.length % 8)) % 8);
  }
  let h = JSON.stringify({ generated_by: f.generatedBy, meta: f.meta ?? {}, scalars: f.scalars ?? {}, tensors: entries });
  let hb = new TextEncoder().encode(h);
  h += ' '.repeat((8 - ((16 + hb.length) % 8)) % 8);
  hb = new TextEncoder().encode(h);
  const out = new Uint8Array(16 + hb.length + off);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setBigUint64(8, BigInt(hb.length), true);
  out.set(hb, 16);
  let p = 16 + hb.length;
  for (const b of blobs) { out.set(b, p); p += b.length + ((8 - (b.length % 8)) % 8); }
  return out;
}

export function writeFixture(path: string, f: FixtureInput): void {
  writeFileSync(path, serializeFixture(f));
}

/** The python with torch: $ALEXNET_PYTHON or /usr/bin/python3. */
export function pythonPath(): string {
  return process.env.ALEXNET_PYTHON || '/usr/bin/python3';
}

const moduleCache = new Map<string, boolean>();
/** The Python modules pythonPath() cannot import, as their Debian packages (python3-onnx); each checked once per process. */
export function missingPython(...modules: string[]): string[] {
  return modules.filter((m) => {
    if (!moduleCache.has(m)) moduleCache.set(m, spawnSync(pythonPath(), ['-c', `import ${m}`], { stdio: 'ignore', timeout: 60_000 }).status === 0);
    return !moduleCache.get(m);
  }).map((m) => `python3-${m}`);
}

/** True when pythonPath() can import torch. */
export function havePythonTorch(): boolean {
  return missingPython('torch').length === 0;
}
