// torch.save state_dicts (torch >= 1.6 zip format): <prefix>/data.pkl (pickle protocol 2) whose
// tensors are _rebuild_tensor_v2(persistent storage, offset, size, stride, ...) and whose storages are
// raw little-endian arrays in <prefix>/data/<key>. The pickle goes through the restricted unpickler.
import type { StateDict } from '../model/types.ts';
import { bf16ToFloat, halfToFloat } from './half.ts';
import { LIMITS, WeightsFormatError, describe, fmtShape, safeName } from './meta.ts';
import { unpickle, type GlobalTable, type PickleGlobal } from './pickle.ts';
import { readZipDirectory, readZipEntry, writeZip, type ZipEntry } from './zip.ts';

const STORAGE_DTYPES: Record<string, { bytes: number; read: (dv: DataView, i: number) => number }> = {
  'torch.FloatStorage': { bytes: 4, read: (dv, i) => dv.getFloat32(4 * i, true) },
  'torch.DoubleStorage': { bytes: 8, read: (dv, i) => dv.getFloat64(8 * i, true) },
  'torch.HalfStorage': { bytes: 2, read: (dv, i) => halfToFloat(dv.getUint16(2 * i, true)) },
  'torch.BFloat16Storage': { bytes: 2, read: (dv, i) => bf16ToFloat(dv.getUint16(2 * i, true)) },
};

interface Storage { kind: 'storage'; type: string; key: string; numel: number }
interface TensorRef { kind: 'tensor'; storage: Storage; offset: number; size: number[]; stride: number[] }

const ALLOWED = ['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', ...Object.keys(STORAGE_DTYPES)];
/** data.pkl of a state_dict is a few KB; refuse to inflate more than this for it. */
const MAX_PICKLE = 64 << 20;
/** Storage bytes allowed beyond what the tensors use (small shared or padded storages). */
const STORAGE_SLACK = 1 << 20;
/** The first pickle of a legacy (< 1.6) torch.save: PROTO 2, LONG1 of 10 bytes = the magic 0x1950a86a20f9469cfc6c. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

function globals(what: string): GlobalTable {
  const bad = (m: string): never => { throw new WeightsFormatError(`${what}: ${m}`); };
  const ints = (x: unknown, name: string) => {
    if (!Array.isArray(x) || x.length > 8 || !x.every((v) => Number.isSafeInteger(v) && v >= 0)) bad(`tensor ${name} is ${describe(x)}, not a tuple of up to 8 non-negative integers`);
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
      if (!Number.isSafeInteger(offset) || offset < 0) bad(`_rebuild_tensor_v2 with storage offset ${describe(offset)}`);
      const r: TensorRef = { kind: 'tensor', storage, offset, size: ints(size, 'size'), stride: ints(stride, 'stride') };
      if (r.size.length !== r.stride.length) bad(`tensor size ${fmtShape(r.size)} and stride ${fmtShape(r.stride)} differ in rank`);
      return r;
    },
    'torch._utils._rebuild_parameter': (args) => args[0],
  };
  for (const k of Object.keys(STORAGE_DTYPES)) t[k] = () => bad(`${k} called directly; storages must come from persistent ids`);
  return t;
}

export const LEGACY_MESSAGE = 'legacy (pre-1.6, non-zip) torch.save format is not supported; convert it with PyTorch >= 1.6: torch.save(torch.load("old.pth"), "new.pth") writes the zip format';

/** True for the first bytes of a legacy (< 1.6) torch.save file. */
export function isLegacyTorchSave(b: Uint8Array): boolean {
  return b.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((x, i) => b[i] === x);
}

export interface ReadPthOptions {
  /** Sees every tensor's name and shape before any storage is inflated or copied; throws to refuse. */
  expect?: (shapes: Record<string, number[]>) => void;
  /** Contiguous aligned float32 tensors become views of the file's (or the inflated) bytes, not copies:
   *  for callers that own `bytes`. Tensors that share a storage then share memory, as in torch. */
  view?: boolean;
}

export function readPth(bytes: Uint8Array, what: string, opts: ReadPthOptions = {}): StateDict {
  if (bytes[0] === 0x80) {
    if (isLegacyTorchSave(bytes)) throw new WeightsFormatError(`${what}: ${LEGACY_MESSAGE}`);
    // Another bare pickle: parse it (restricted) so hostile files are refused by name, then say what it is.
    unpickle(bytes, { globals: globals(what), what });
    throw new WeightsFormatError(`${what}: ${LEGACY_MESSAGE}`);
  }
  const dir = readZipDirectory(bytes, what);
  const pkl = [...dir.keys()].find((n) => n.endsWith('/data.pkl') && n.split('/').length === 2);
  if (!pkl) throw new WeightsFormatError(`${what}: zip has no <archive>/data.pkl; not a torch.save file (entries: ${[...dir.keys()].slice(0, 5).map(safeName).join(', ')})`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const raw = unpickle(readZipEntry(bytes, dir.get(pkl)!, what, MAX_PICKLE), {
    globals: globals(what),
    what,
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') throw new WeightsFormatError(`${what}: unexpected persistent id (${describe(pid)})`);
      const [, type, key, , numel] = pid as [string, PickleGlobal, unknown, unknown, unknown];
      if (!type || type.kind !== 'global' || !(type.name in STORAGE_DTYPES)) throw new WeightsFormatError(`${what}: storage type ${type?.kind === 'global' ? safeName(type.name) : describe(type)} is not a floating-point storage`);
      if (typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0) throw new WeightsFormatError(`${what}: malformed storage id (key ${describe(key)}, size ${describe(numel)})`);
      return { kind: 'storage', type: type.name, key, numel: numel as number } satisfies Storage;
    },
  });
  let dict = raw;
  if (dict instanceof Map) {
    for (const k of ['state_dict', 'model']) if (dict.get(k) instanceof Map) { dict = dict.get(k); break; }
  }
  if (!(dict instanceof Map)) throw new WeightsFormatError(`${what}: top-level object is ${describe(dict)}, not a dict of tensors (a whole pickled nn.Module cannot be loaded; save model.state_dict())`);
  const refs = new Map<string, TensorRef>();
  for (const [name, t] of dict as Map<unknown, unknown>) {
    if (typeof name !== 'string') throw new WeightsFormatError(`${what}: state_dict key ${describe(name)} is not a string`);
    const tr = t as TensorRef;
    if (!tr || tr.kind !== 'tensor') throw new WeightsFormatError(`${what}: state_dict entry ${safeName(name)} is ${describe(t)}, not a tensor`);
    refs.set(name, tr);
  }
  // Names and shapes first: nothing is inflated or copied for tensors the architecture does not have.
  opts.expect?.(Object.fromEntries([...refs].map(([n, t]) => [n, t.size])));
  // Then every view against its storage, and the storages against what the tensors can use.
  let used = 0, elements = 0;
  const storages = new Map<string, Storage>();
  for (const [name, t] of refs) {
    const n = t.size.reduce((a, d) => a * d, 1);
    if (n > t.storage.numel) throw new WeightsFormatError(`${what}: ${safeName(name)}: size ${fmtShape(t.size)} has ${n} elements but its storage only ${t.storage.numel} (expanded views are not weights)`);
    let last = t.offset;
    for (let i = 0; i < t.size.length; i++) if (t.size[i] > 0) last += (t.size[i] - 1) * t.stride[i];
    if (n > 0 && last >= t.storage.numel) throw new WeightsFormatError(`${what}: ${safeName(name)}: size ${fmtShape(t.size)} stride ${fmtShape(t.stride)} offset ${t.offset} reaches element ${last} of a ${t.storage.numel}-element storage`);
    const prev = storages.get(t.storage.key);
    if (prev && (prev.type !== t.storage.type || prev.numel !== t.storage.numel)) throw new WeightsFormatError(`${what}: storage ${safeName(t.storage.key)} is declared twice with different types or sizes`);
    storages.set(t.storage.key, t.storage);
    elements += n;
    used += n * STORAGE_DTYPES[t.storage.type].bytes;
  }
  if (elements > LIMITS.maxParams) throw new WeightsFormatError(`${what}: the tensors hold ${elements} values, over the ${LIMITS.maxParams} limit`);
  let declared = 0;
  for (const st of storages.values()) declared += st.numel * STORAGE_DTYPES[st.type].bytes;
  if (declared > used + STORAGE_SLACK) throw new WeightsFormatError(`${what}: storages declare ${declared} bytes but the tensors use only ${used} (views of larger tensors are not weights; save clones)`);
  // Each storage inflated at most once (cached by its place in the zip), bounded by its declared size.
  const views = new Map<string, DataView>();
  const byOffset = new Map<number, DataView>();
  for (const [key, st] of storages) {
    const e = dir.get(`${prefix}data/${key}`);
    if (!e) throw new WeightsFormatError(`${what}: storage ${safeName(`${prefix}data/${key}`)} is missing from the zip`);
    const need = st.numel * STORAGE_DTYPES[st.type].bytes;
    if (e.size !== need) throw new WeightsFormatError(`${what}: storage ${safeName(key)} is ${e.size} bytes in the zip but its ${st.numel} ${st.type.slice(6)} elements need ${need}`);
    let dv = byOffset.get(e.localOffset);
    if (!dv) {
      const data = readZipEntry(bytes, e, what, need);
      dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      byOffset.set(e.localOffset, dv);
    }
    if (dv.byteLength !== need) throw new WeightsFormatError(`${what}: storage ${safeName(key)} shares its zip data with a storage of another size`);
    views.set(key, dv);
  }
  const sd: StateDict = {};
  for (const [name, t] of refs) sd[name] = materialise(views.get(t.storage.key)!, t, opts.view === true);
  return sd;
}

function materialise(dv: DataView, t: TensorRef, view: boolean) {
  const dt = STORAGE_DTYPES[t.storage.type];
  const n = t.size.reduce((a, d) => a * d, 1);
  const contiguous = t.size.every((_, d) => t.size[d] <= 1 || t.stride[d] === t.size.slice(d + 1).reduce((a, x) => a * x, 1));
  const at = dv.byteOffset + 4 * t.offset;
  if (view && contiguous && t.storage.type === 'torch.FloatStorage' && at % 4 === 0) return { shape: [...t.size], data: new Float32Array(dv.buffer, at, n) };
  const out = new Float32Array(n);
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
