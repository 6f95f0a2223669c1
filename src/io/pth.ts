// torch.save state_dicts (torch >= 1.6 zip format): <prefix>/data.pkl (pickle protocol 2) whose
// tensors are _rebuild_tensor_v2(persistent storage, offset, size, stride, ...) and whose storages are
// raw little-endian arrays in <prefix>/data/<key>. The pickle goes through the restricted unpickler.
import type { StateDict } from '../model/types.ts';
import { unpickle, type GlobalTable, type PickleGlobal } from './pickle.ts';
import { WeightsFormatError } from './safetensors.ts';
import { readZipDirectory, readZipEntry, writeZip, type ZipEntry } from './zip.ts';

const STORAGE_DTYPES: Record<string, { bytes: number; read: (dv: DataView, i: number) => number }> = {
  'torch.FloatStorage': { bytes: 4, read: (dv, i) => dv.getFloat32(4 * i, true) },
  'torch.DoubleStorage': { bytes: 8, read: (dv, i) => dv.getFloat64(8 * i, true) },
  'torch.HalfStorage': { bytes: 2, read: (dv, i) => half(dv.getUint16(2 * i, true)) },
  'torch.BFloat16Storage': { bytes: 2, read: (dv, i) => new Float32Array(new Uint32Array([dv.getUint16(2 * i, true) << 16]).buffer)[0] },
};

interface Storage { kind: 'storage'; type: string; key: string; numel: number }
interface TensorRef { kind: 'tensor'; storage: Storage; offset: number; size: number[]; stride: number[] }

const ALLOWED = ['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', ...Object.keys(STORAGE_DTYPES)];

function globals(what: string): GlobalTable {
  const bad = (m: string): never => { throw new WeightsFormatError(`${what}: ${m}`); };
  const ints = (x: unknown, name: string) => {
    if (!Array.isArray(x) || !x.every((v) => Number.isSafeInteger(v) && v >= 0)) bad(`tensor ${name} ${JSON.stringify(x)} is not a tuple of non-negative integers`);
    return x as number[];
  };
  const t: GlobalTable = {
    'collections.OrderedDict': (args) => {
      if (args.length) bad('OrderedDict called with arguments');
      return new Map();
    },
    'torch._utils._rebuild_tensor_v2': (args) => {
      const [storage, offset, size, stride] = args as [Storage, number, unknown, unknown];
      if (!storage || storage.kind !== 'storage') bad('_rebuild_tensor_v2 without a storage');
      if (!Number.isSafeInteger(offset) || offset < 0) bad(`_rebuild_tensor_v2 with storage offset ${offset}`);
      const r: TensorRef = { kind: 'tensor', storage, offset, size: ints(size, 'size'), stride: ints(stride, 'stride') };
      if (r.size.length !== r.stride.length) bad(`tensor size [${r.size}] and stride [${r.stride}] differ in rank`);
      return r;
    },
    'torch._utils._rebuild_parameter': (args) => args[0],
  };
  for (const k of Object.keys(STORAGE_DTYPES)) t[k] = () => bad(`${k} called directly; storages must come from persistent ids`);
  return t;
}

export function readPth(bytes: Uint8Array, what: string): StateDict {
  if (bytes[0] === 0x80) {
    // Bare pickle: legacy (< 1.6) torch.save. Parse the first pickle (restricted) so hostile files are refused by name.
    unpickle(bytes, { globals: globals(what), what });
    throw new WeightsFormatError(`${what}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save with torch.save(sd, f) in torch >= 1.6`);
  }
  const dir = readZipDirectory(bytes, what);
  const pkl = [...dir.keys()].find((n) => n.endsWith('/data.pkl') && n.split('/').length === 2);
  if (!pkl) throw new WeightsFormatError(`${what}: zip has no <archive>/data.pkl; not a torch.save file (entries: ${[...dir.keys()].slice(0, 5).join(', ')})`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const raw = unpickle(readZipEntry(bytes, dir.get(pkl)!, what), {
    globals: globals(what),
    what,
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') throw new WeightsFormatError(`${what}: unexpected persistent id ${JSON.stringify(pid)}`);
      const [, type, key, , numel] = pid as [string, PickleGlobal, unknown, unknown, unknown];
      if (!type || type.kind !== 'global' || !(type.name in STORAGE_DTYPES)) throw new WeightsFormatError(`${what}: storage type ${type?.name ?? String(type)} is not a floating-point storage`);
      if (typeof key !== 'string' || !Number.isSafeInteger(numel)) throw new WeightsFormatError(`${what}: malformed storage id ${JSON.stringify(pid)}`);
      return { kind: 'storage', type: type.name, key, numel: numel as number } satisfies Storage;
    },
  });
  let dict = raw;
  if (dict instanceof Map) {
    for (const k of ['state_dict', 'model']) if (dict.get(k) instanceof Map) { dict = dict.get(k); break; }
  }
  if (!(dict instanceof Map)) throw new WeightsFormatError(`${what}: top-level object is not a dict of tensors (a whole pickled nn.Module cannot be loaded; save model.state_dict())`);
  const cache = new Map<string, DataView>();
  const sd: StateDict = {};
  for (const [name, t] of dict as Map<unknown, unknown>) {
    if (typeof name !== 'string') throw new WeightsFormatError(`${what}: state_dict key ${String(name)} is not a string`);
    const tr = t as TensorRef;
    if (!tr || tr.kind !== 'tensor') throw new WeightsFormatError(`${what}: state_dict entry ${name} is not a tensor`);
    sd[name] = materialise(bytes, dir, prefix, tr, name, cache, what);
  }
  return sd;
}

function materialise(bytes: Uint8Array, dir: Map<string, ZipEntry>, prefix: string, t: TensorRef, name: string, cache: Map<string, DataView>, what: string) {
  const dt = STORAGE_DTYPES[t.storage.type];
  let dv = cache.get(t.storage.key);
  if (!dv) {
    const e = dir.get(`${prefix}data/${t.storage.key}`);
    if (!e) throw new WeightsFormatError(`${what}: ${name}: storage ${prefix}data/${t.storage.key} is missing from the zip`);
    const data = readZipEntry(bytes, e, what);
    if (data.length < t.storage.numel * dt.bytes) throw new WeightsFormatError(`${what}: ${name}: storage ${t.storage.key} has ${data.length} bytes, needs ${t.storage.numel * dt.bytes} (truncated?)`);
    dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    cache.set(t.storage.key, dv);
  }
  const n = t.size.reduce((a, d) => a * d, 1);
  let last = t.offset;
  for (let i = 0; i < t.size.length; i++) if (t.size[i] > 0) last += (t.size[i] - 1) * t.stride[i];
  if (n > t.storage.numel) throw new WeightsFormatError(`${what}: ${name}: size [${t.size}] has ${n} elements but its storage only ${t.storage.numel} (expanded views are not weights)`);
  if (n > 0 && last >= t.storage.numel) throw new WeightsFormatError(`${what}: ${name}: size [${t.size}] stride [${t.stride}] offset ${t.offset} reaches element ${last} of a ${t.storage.numel}-element storage`);
  const out = new Float32Array(n);
  const contiguous = t.size.every((_, d) => t.size[d] <= 1 || t.stride[d] === t.size.slice(d + 1).reduce((a, x) => a * x, 1));
  if (contiguous && t.storage.type === 'torch.FloatStorage') {
    new Uint8Array(out.buffer).set(new Uint8Array(dv.buffer, dv.byteOffset + 4 * t.offset, 4 * n));
    return { shape: [...t.size], data: out };
  }
  // Row-major walk over the index space through the strides (handles non-contiguous views).
  const rank = t.size.length, idx = new Array(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < n; i++) {
    out[i] = dt.read(dv, src);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++; src += t.stride[d];
      if (idx[d] < t.size[d]) break;
      src -= t.stride[d] * t.size[d]; idx[d] = 0;
    }
  }
  return { shape: [...t.size], data: out };
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** torch.save(state_dict) equivalent: an OrderedDict of float32 tensors, loadable by torch.load. */
export function writePth(sd: StateDict, archive = 'archive'): Uint8Array {
  const out: number[] = [];
  const byte = (...x: number[]) => out.push(...x);
  const int = (v: number) => { byte(0x4a); const b = Buffer.alloc(4); b.writeInt32LE(v); out.push(...b); };
  const ustr = (s: string) => { const b = Buffer.from(s, 'utf8'); byte(0x58); const l = Buffer.alloc(4); l.writeUInt32LE(b.length); out.push(...l, ...b); };
  const glob = (m: string, n: string) => { byte(0x63); out.push(...Buffer.from(`${m}\n${n}\n`)); };
  const tuple = (xs: number[]) => { byte(0x28); xs.forEach(int); byte(0x74); };
  byte(0x80, 2);
  glob('collections', 'OrderedDict'); byte(0x29, 0x52, 0x28); // () REDUCE MARK
  const files: { name: string; data: Uint8Array }[] = [];
  Object.entries(sd).forEach(([name, t], i) => {
    const n = t.data.length;
    ustr(name);
    glob('torch._utils', '_rebuild_tensor_v2');
    byte(0x28, 0x28); ustr('storage'); glob('torch', 'FloatStorage'); ustr(String(i)); ustr('cpu'); int(n); byte(0x74, 0x51); // persistent id
    int(0);
    tuple(t.shape);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, x) => a * x, 1));
    tuple(stride);
    byte(0x89); glob('collections', 'OrderedDict'); byte(0x29, 0x52); // requires_grad False, empty hooks
    byte(0x74, 0x52); // TUPLE REDUCE
    const copy = new Float32Array(t.data);
    files.push({ name: `${archive}/data/${i}`, data: new Uint8Array(copy.buffer) });
  });
  byte(0x75, 0x2e); // SETITEMS STOP
  return writeZip([{ name: `${archive}/data.pkl`, data: Uint8Array.from(out) }, ...files, { name: `${archive}/version`, data: Buffer.from('3\n') }]);
}

export const PTH_ALLOWED_GLOBALS: readonly string[] = ALLOWED;
