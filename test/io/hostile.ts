// Builders for hostile and malformed weights files (pickles, zips with DEFLATE entries), and a runner
// that loads files in a child process under a heap cap and a deadline, reporting each file's outcome
// and how much the child's peak RSS grew while loading it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { crc32, createDeflateRaw } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./bounded-worker.ts', import.meta.url));

/** Pickle opcodes as bytes: numbers are raw bytes, strings are written as BINUNICODE. */
export class Pickle {
  private out: number[] = [0x80, 2];
  op(...b: number[]): this { for (const x of b) this.out.push(x); return this; }
  str(s: string): this { const b = Buffer.from(s, 'utf8'); this.op(0x58, ...u32(b.length)); for (const x of b) this.out.push(x); return this; }
  int(v: number): this { return this.op(0x4a, ...i32(v)); }
  global(mod: string, name: string): this { this.op(0x63); for (const x of Buffer.from(`${mod}\n${name}\n`)) this.out.push(x); return this; }
  tuple(xs: number[]): this { this.op(0x28); xs.forEach((x) => this.int(x)); return this.op(0x74); }
  bytes(): Uint8Array { return Uint8Array.from(this.out); }
}
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return [...b]; };
const i32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32LE(v); return [...b]; };

export interface TensorEntry { name: string; key: string; numel: number; size: number[]; stride?: number[]; offset?: number; type?: string }

/** data.pkl of torch.save(OrderedDict) with the given tensor references. */
export function stateDictPickle(entries: TensorEntry[]): Uint8Array {
  const p = new Pickle().global('collections', 'OrderedDict').op(0x29, 0x52, 0x28);
  for (const e of entries) {
    const stride = e.stride ?? e.size.map((_, d) => e.size.slice(d + 1).reduce((a, x) => a * x, 1));
    p.str(e.name).global('torch._utils', '_rebuild_tensor_v2');
    p.op(0x28, 0x28).str('storage').global('torch', e.type ?? 'FloatStorage').str(e.key).str('cpu').int(e.numel).op(0x74, 0x51);
    p.int(e.offset ?? 0).tuple(e.size).tuple(stride);
    p.op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).op(0x74, 0x52);
  }
  return p.op(0x75, 0x2e).bytes();
}

export interface ZipItem { name: string; data: Uint8Array; /** DEFLATE: data is the raw deflate stream, size the inflated length. */ deflated?: { size: number } }

/** A zip (no alignment, any methods) from items whose data is given as it is stored. */
export function zip(items: ZipItem[]): Uint8Array {
  const parts: Buffer[] = [], central: Buffer[] = [];
  let off = 0;
  for (const it of items) {
    const name = Buffer.from(it.name);
    const method = it.deflated ? 8 : 0, size = it.deflated ? it.deflated.size : it.data.length;
    const crc = it.deflated ? 0 : crc32(it.data);
    const local = Buffer.alloc(30 + name.length);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(it.data.length, 18); local.writeUInt32LE(size, 22); local.writeUInt16LE(name.length, 26); name.copy(local, 30);
    const cd = Buffer.alloc(46 + name.length);
    cd.writeUInt32LE(0x02014b50, 0); cd.writeUInt16LE(20, 4); cd.writeUInt16LE(20, 6); cd.writeUInt16LE(method, 10); cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(it.data.length, 20); cd.writeUInt32LE(size, 24); cd.writeUInt16LE(name.length, 28); cd.writeUInt32LE(off, 42); name.copy(cd, 46);
    parts.push(local, Buffer.from(it.data)); central.push(cd);
    off += local.length + it.data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(items.length, 8); eocd.writeUInt16LE(items.length, 10); eocd.writeUInt32LE(cdSize, 12); eocd.writeUInt32LE(off, 16);
  return new Uint8Array(Buffer.concat([...parts, ...central, eocd]));
}

/** Raw deflate of `bytes` zero bytes, streamed in 1 MiB chunks (never holds the inflated data). */
export async function deflatedZeros(bytes: number): Promise<Uint8Array> {
  const z = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => z.on('end', r));
  const chunk = Buffer.alloc(1 << 20);
  for (let left = bytes; left > 0; left -= chunk.length) {
    const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
    if (!z.write(c)) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await done;
  return new Uint8Array(Buffer.concat(out));
}

export interface Outcome { file: string; ok: boolean; name?: string; message?: string; ms: number; rssGrowthMB: number }

/** Runs bounded-worker.ts in a child (heap capped, deadline): one outcome per case, in order. A case
 *  missing from the result means the child died or hung at it. */
export function runWorker(args: string[], opts: { timeoutMs?: number; heapMB?: number } = {}): { outcomes: Outcome[]; status: number | null; signal: string | null; stderr: string } {
  const r = spawnSync(process.execPath, [`--max-old-space-size=${opts.heapMB ?? 256}`, '--import', 'tsx', WORKER, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, ALEXNET_QUIET: '1' }, maxBuffer: 64 << 20,
  });
  const outcomes = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Outcome);
  return { outcomes, status: r.status, signal: r.signal, stderr: (r.stderr ?? '').slice(-2000) };
}

/** Loads each file with loadWeights in one bounded child, in order. */
export function loadBounded(files: string[], opts: { timeoutMs?: number; heapMB?: number } = {}) {
  return runWorker(['load', ...files], opts);
}
