// Mutated weights files and images for the fuzz test: seeds are valid files, mutations are bit flips,
// truncations, splices and length-field edits, all from a fixed seed. Each case decodes in memory.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeWeights } from '../../src/io/weights.ts';
import { exportOnnx } from '../../src/io/onnx.ts';
import { encodeSafetensors } from '../../src/io/safetensors.ts';
import { metaToStrings } from '../../src/io/meta.ts';
import { readZipDirectory, readZipEntry } from '../../src/io/zip.ts';
import { metaFor, randomStateDict } from './helpers.ts';
import { zip } from './hostile.ts';

export interface FuzzCase { label: string; run: () => Promise<unknown> }
export const READERS = ['pickle', 'pth', 'safetensors', 'onnx', 'image'] as const;

const fx = (n: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/io/${n}`, import.meta.url))));

/** Counter-based, so each case's mutation depends only on (seed, case index). */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => { s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0; s ^= s >>> 13; return s % n; };
}

/** Offsets of length fields a reader trusts, so edits hit them more often than chance would. */
function lengthFields(kind: string, b: Uint8Array): number[] {
  const out: number[] = [];
  if (kind === 'safetensors') out.push(0);
  if (kind === 'pickle') for (let i = 0; i + 5 <= b.length; i++) if (b[i] === 0x58 || b[i] === 0x4a || b[i] === 0x8a || b[i] === 0x71 || b[i] === 0x68) out.push(i + 1);
  if (kind === 'pth') {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i + 46 <= b.length; i++) if (dv.getUint32(i, true) === 0x02014b50) out.push(i + 20, i + 24, i + 28, i + 42);
    for (let i = 0; i + 30 <= b.length; i++) if (dv.getUint32(i, true) === 0x04034b50) out.push(i + 18, i + 22, i + 26, i + 28);
  }
  if (kind === 'onnx') for (let i = 0; i + 2 <= Math.min(b.length, 4096); i++) if ((b[i] & 7) === 2 && b[i] >> 3 >= 1 && b[i] >> 3 <= 15) out.push(i + 1);
  return out;
}

export function mutate(kind: string, good: Uint8Array, r: (n: number) => number, it: number): Uint8Array {
  const b = new Uint8Array(good);
  const pos = () => (r(2) ? r(Math.min(1024, b.length)) : r(b.length));
  switch (it % 4) {
    case 0: for (let k = 0; k < 1 + r(8); k++) b[pos()] ^= 1 << r(8); return b; // bit flips
    case 1: return b.subarray(0, pos()); // truncation
    case 2: { // splice: drop a range, or repeat one
      const a = pos(), c = pos(), lo = Math.min(a, c), hi = Math.max(a, c);
      return r(2) ? new Uint8Array([...b.subarray(0, lo), ...b.subarray(hi)]) : new Uint8Array([...b.subarray(0, hi), ...b.subarray(lo, hi), ...b.subarray(hi)]);
    }
    default: { // length-field edit: small nudge, zero, or a huge value
      const fields = lengthFields(kind, b);
      const at = fields.length ? fields[r(fields.length)] : pos();
      const how = r(4), n = 1 + r(4);
      for (let k = 0; k < n && at + k < b.length; k++) b[at + k] = how === 0 ? (b[at + k] + 1) & 255 : how === 1 ? 0 : how === 2 ? 0xff : 0x7f;
      return b;
    }
  }
}

async function seeds(reader: string): Promise<[string, Uint8Array, (b: Uint8Array, label: string) => Promise<unknown>][]> {
  const sd = randomStateDict('torchvision', 1 / 16, 8, 3);
  const meta = metaFor('torchvision', 3, { widthScale: 1 / 16, hidden: 8 });
  const weights = (b: Uint8Array, label: string) => decodeWeights(b, label);
  if (reader === 'safetensors') return [['safetensors', encodeSafetensors(sd, metaToStrings(meta)), weights]];
  if (reader === 'pth') return [['pth', fx('tv_small.pth'), weights], ['paper pth', fx('paper_small.pth'), weights]];
  if (reader === 'onnx') return [['onnx', exportOnnx(sd, meta), weights], ['zoo onnx', fx('zoo_like_caffe.onnx'), weights]];
  if (reader === 'pickle') {
    // the pickle of a real torch.save, mutated alone and re-zipped with the untouched storages
    const pth = fx('tv_small.pth');
    const dir = readZipDirectory(pth, 'seed');
    const pklName = [...dir.keys()].find((n) => n.endsWith('/data.pkl'))!;
    const rest = [...dir.values()].filter((e) => e.name !== pklName).map((e) => ({ name: e.name, data: new Uint8Array(readZipEntry(pth, e, 'seed', 1 << 30)) }));
    const pkl = new Uint8Array(readZipEntry(pth, dir.get(pklName)!, 'seed', 1 << 30));
    return [['pickle', pkl, (b, label) => decodeWeights(zip([{ name: pklName, data: b }, ...rest]), label)]];
  }
  if (reader === 'image') {
    const sharp = (await import('sharp')).default;
    const { loadImage } = await import('../../src/data/preprocess.ts');
    const raw = Buffer.alloc(48 * 40 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) & 255;
    const img = sharp(raw, { raw: { width: 48, height: 40, channels: 3 } });
    const jpeg = new Uint8Array(await img.clone().jpeg({ quality: 80 }).toBuffer());
    const png = new Uint8Array(await img.clone().png().toBuffer());
    const decode = (b: Uint8Array, label: string) => loadImage(Buffer.from(b), { name: label, limitInputPixels: 1 << 22 });
    return [['jpeg', jpeg, decode], ['png', png, decode]];
  }
  throw new Error(`unknown reader ${reader}`);
}

export async function fuzzCases(reader: string, seed: number, count: number): Promise<FuzzCase[]> {
  const list = await seeds(reader);
  const cases: FuzzCase[] = [];
  const kind = reader === 'image' ? 'image' : reader;
  for (const [name, good, run] of list) {
    const r = rng(seed ^ name.length * 7919);
    for (let it = 0; it < Math.ceil(count / list.length); it++) {
      const b = mutate(name.includes('onnx') ? 'onnx' : name.includes('pth') ? 'pth' : kind, good, r, it);
      const label = `${name}#${it}`;
      cases.push({ label, run: () => run(b, label) });
    }
  }
  return cases;
}
