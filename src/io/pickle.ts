// A restricted unpickler: it interprets only the opcodes a torch state_dict uses and resolves only
// globals the caller allow-lists. Nothing is ever executed: a "global" is a tagged record, and REDUCE
// calls the caller's plain TypeScript function for that allow-listed name. Anything else (os.system,
// builtins.eval, INST/OBJ/NEWOBJ, ...) is refused with the opcode or global named.
// A hostile pickle must also cost little: the memo, the stack, every container, the nesting depth and
// the op count are bounded (a memo "billion laughs" builds a small DAG that nothing here ever walks),
// nothing recurses on the file's depth, and errors describe values by type and size, never by content.
import { WeightsFormatError, describe, safeName } from './meta.ts';

/** Far above what a state_dict needs (16 tensors, 4-d sizes, a few levels of dicts). */
export const PICKLE_LIMITS = { maxOps: 10_000_000, maxStack: 100_000, maxMemo: 100_000, maxContainer: 100_000, maxDepth: 64 };

export interface PickleGlobal { readonly kind: 'global'; readonly name: string }
/** Allow-listed callables: REDUCE(global, args) calls fn(args). */
export type GlobalTable = Record<string, (args: unknown[]) => unknown>;
export interface UnpickleOptions {
  globals: GlobalTable;
  /** BINPERSID: resolves a persistent id (torch: ('storage', type, key, location, numel)). */
  persistentLoad?: (pid: unknown) => unknown;
  what: string;
}

/** A dict under construction by OrderedDict() / EMPTY_DICT; torch's BUILD on it sets _metadata, ignored. */
export type PickleDict = Map<unknown, unknown>;

const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS',
  0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

export function unpickle(b: Uint8Array, opts: UnpickleOptions): unknown {
  const { what } = opts;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fail = (msg: string): never => { throw new WeightsFormatError(`${what}: pickle ${msg}`); };
  let p = 0;
  const need = (n: number) => { if (p + n > b.length) fail(`is truncated at byte ${p} (needs ${n} more)`); };
  const u8 = () => { need(1); return b[p++]; };
  const u16 = () => { need(2); const v = dv.getUint16(p, true); p += 2; return v; };
  const u32 = () => { need(4); const v = dv.getUint32(p, true); p += 4; return v; };
  const str = (n: number) => { need(n); const s = Buffer.from(b.buffer, b.byteOffset + p, n).toString('utf8'); p += n; return s; };
  const line = () => {
    const e = b.indexOf(0x0a, p);
    if (e < 0) fail(`is truncated inside a GLOBAL name at byte ${p}`);
    const s = Buffer.from(b.buffer, b.byteOffset + p, e - p).toString('utf8'); p = e + 1; return s;
  };
  const L = PICKLE_LIMITS;
  const stack: unknown[] = [];
  const marks: number[] = []; // stack heights at each MARK (a metastack, as CPython's)
  const memo = new Map<number, unknown>();
  // Nesting depth of every container built, so a deep structure is refused as it is built.
  const depth = new WeakMap<object, number>();
  const depthOf = (x: unknown) => (x !== null && typeof x === 'object' ? depth.get(x) ?? 0 : 0);
  const made = <T extends object>(x: T, items: readonly unknown[]): T => {
    let d = 0;
    for (const v of items) { const e = depthOf(v); if (e > d) d = e; }
    if (d + 1 > L.maxDepth) fail(`nests containers deeper than ${L.maxDepth} levels at byte ${p}`);
    depth.set(x, d + 1);
    return x;
  };
  const grow = (c: object, v: unknown, size: number) => {
    if (size > L.maxContainer) fail(`builds a container of more than ${L.maxContainer} items at byte ${p}`);
    const d = Math.max(depthOf(c), depthOf(v) + 1);
    if (d > L.maxDepth) fail(`nests containers deeper than ${L.maxDepth} levels at byte ${p}`);
    depth.set(c, d);
  };
  const push = (x: unknown) => {
    if (stack.length >= L.maxStack) fail(`stack grows past ${L.maxStack} items at byte ${p}`);
    stack.push(x);
  };
  const pop = () => {
    if (stack.length <= (marks.length ? marks[marks.length - 1] : 0)) fail(`stack underflow at byte ${p}`);
    return stack.pop();
  };
  const top = () => {
    if (stack.length <= (marks.length ? marks[marks.length - 1] : 0)) fail(`stack underflow at byte ${p}`);
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const i = marks.pop();
    if (i === undefined) fail(`has no MARK before byte ${p}`);
    return stack.splice(i!);
  };
  const put = (k: number, v: unknown) => {
    if (!memo.has(k) && memo.size >= L.maxMemo) fail(`memo grows past ${L.maxMemo} entries at byte ${p}`);
    memo.set(k, v);
  };
  const global = (mod: string, name: string): PickleGlobal => {
    const full = `${mod}.${name}`;
    if (!Object.hasOwn(opts.globals, full)) fail(`refers to global ${safeName(full)}, which is not allowed in a weights file (allowed: ${Object.keys(opts.globals).join(', ')}); refusing to load it`);
    return { kind: 'global', name: full };
  };
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (!(d instanceof Map)) fail(`SETITEM on ${describe(d)} at byte ${p}`);
    const m = d as PickleDict;
    m.set(k, v);
    grow(m, v, m.size);
  };

  for (let ops = 0; ; ops++) {
    if (ops >= L.maxOps) fail(`runs more than ${L.maxOps} opcodes`);
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); p += 8; break; // FRAME: length hint only
      case 0x2e: { // STOP
        if (marks.length) fail(`STOP with an open MARK`);
        if (stack.length !== 1) fail(`STOP with ${stack.length} items on the stack`);
        return stack[0];
      }
      case 0x28: marks.push(stack.length); if (marks.length > L.maxStack) fail(`has more than ${L.maxStack} open MARKs`); break;
      case 0x29: push(made([], [])); break; // EMPTY_TUPLE
      case 0x5d: push(made([], [])); break; // EMPTY_LIST
      case 0x7d: push(made(new Map(), [])); break; // EMPTY_DICT
      case 0x4e: push(null); break;
      case 0x88: push(true); break;
      case 0x89: push(false); break;
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x4a: { need(4); push(dv.getInt32(p, true)); p += 4; break; } // BININT
      case 0x8a: { // LONG1: little-endian two's complement
        const n = u8();
        if (n > 8) fail(`LONG1 of ${n} bytes is too large at byte ${at}`);
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[p + i]);
        if (n && b[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        push(Number(v));
        break;
      }
      case 0x47: { need(8); push(dv.getFloat64(p, false)); p += 8; break; } // BINFLOAT (big-endian)
      case 0x58: push(str(u32())); break; // BINUNICODE
      case 0x8c: push(str(u8())); break; // SHORT_BINUNICODE
      case 0x55: push(str(u8())); break; // SHORT_BINSTRING (py2 str)
      case 0x71: put(u8(), top()); break; // BINPUT
      case 0x72: put(u32(), top()); break; // LONG_BINPUT
      case 0x94: put(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`GET of unknown memo slot ${k} at byte ${at}`);
        push(memo.get(k));
        break;
      }
      case 0x74: { const items = popMark(); if (items.length > L.maxContainer) fail(`builds a tuple of more than ${L.maxContainer} items at byte ${at}`); push(made(items, items)); break; } // TUPLE
      case 0x85: { const x = pop(); push(made([x], [x])); break; }
      case 0x86: { const y = pop(), x = pop(); push(made([x, y], [x, y])); break; }
      case 0x87: { const z = pop(), y = pop(), x = pop(); push(made([x, y, z], [x, y, z])); break; }
      case 0x61: { // APPEND
        const v = pop(); const l = top();
        if (!Array.isArray(l)) fail(`APPEND on ${describe(l)} at byte ${at}`);
        (l as unknown[]).push(v);
        grow(l as unknown[], v, (l as unknown[]).length);
        break;
      }
      case 0x65: { // APPENDS: one push per item (a spread of 300k items would overflow the call stack)
        const items = popMark(); const l = top();
        if (!Array.isArray(l)) fail(`APPENDS on ${describe(l)} at byte ${at}`);
        const list = l as unknown[];
        if (list.length + items.length > L.maxContainer) fail(`builds a list of more than ${L.maxContainer} items at byte ${at}`);
        for (const v of items) { list.push(v); grow(list, v, list.length); }
        break;
      }
      case 0x73: { const v = pop(), k = pop(); setItem(top(), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) fail(`SETITEMS with an odd item count at byte ${at}`);
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x63: { const mod = line(); const name = line(); push(global(mod, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), mod = pop();
        if (typeof mod !== 'string' || typeof name !== 'string') fail(`STACK_GLOBAL with non-string names at byte ${at}`);
        push(global(mod as string, name as string));
        break;
      }
      case 0x52: { // REDUCE: only allow-listed callables, implemented here in TypeScript
        const args = pop(), fn = pop() as PickleGlobal;
        if (!fn || typeof fn !== 'object' || (fn as PickleGlobal).kind !== 'global') fail(`REDUCE on ${describe(fn)} at byte ${at}`);
        if (!Array.isArray(args)) fail(`REDUCE with ${describe(args)} as arguments at byte ${at}`);
        const r = opts.globals[fn.name](args as unknown[]);
        push(r !== null && typeof r === 'object' && !depth.has(r) ? made(r, args as unknown[]) : r);
        break;
      }
      case 0x62: { // BUILD: torch sets OrderedDict._metadata (module versions); we drop it
        const state = pop(), obj = top();
        if (!(obj instanceof Map)) fail(`BUILD on ${describe(obj)} at byte ${at}: only dict state is allowed`);
        if (!(state instanceof Map) && state !== null) fail(`BUILD with ${describe(state)} as state at byte ${at}`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail(`uses persistent ids but none are allowed here`);
        push(opts.persistentLoad!(pid));
        break;
      }
      case 0x30: pop(); break; // POP
      default: {
        const name = OPNAMES[op];
        fail(name ? `opcode ${name} (0x${op.toString(16)}) at byte ${at} is not allowed in a weights file; refusing to load it`
          : `has unknown opcode 0x${op.toString(16)} at byte ${at} (corrupt file?)`);
      }
    }
  }
}
