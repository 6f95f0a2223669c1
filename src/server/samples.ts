// The explorer's sample photos: which files may be served, and which are of a class the model knows.
// Only regular image files whose real path (symlinks resolved) lies inside the samples folder are listed or
// served; a name with a path separator, `..` or an absolute path is never looked up.
// A sample's label comes from, in order:
//   1. samples.json in the folder: [{ "file": "dog.jpg", "label": "Samoyed" }, ...] (label may be a list of names);
//   2. the file name: `<label>__<anything>.<ext>`, underscores in the label read as spaces (golf_ball__1.jpg).
// `inClass` is true when the label is one of the model's class names (or one of a name's comma-separated
// synonyms, case-insensitive), false when it is not, and absent when the label is unknown.
import { constants, promises as fsp, type ReadStream } from 'node:fs';
import path from 'node:path';

const TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif', tif: 'image/tiff', tiff: 'image/tiff' };
const SIDECAR = 'samples.json';

export interface Sample { file: string; label?: string; inClass?: boolean }

const norm = (s: string) => s.trim().toLowerCase().replace(/[_\s]+/g, ' ');

/** Every name a class answers to: "Samoyed, Samoyede" -> samoyed, samoyede. */
function classIndex(classNames: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const c of classNames) { names.add(norm(c)); for (const part of c.split(',')) if (part.trim()) names.add(norm(part)); }
  return names;
}

/** A plain file name with an image extension (`ext`); never a path. */
export function safeName(name: string, ext: RegExp): boolean {
  return ext.test(name) && name === path.basename(name) && !name.includes('\\') && !name.includes('\0') && name !== '..' && !path.isAbsolute(name);
}

/** The file's real path when it is a regular file inside the real samples folder, else undefined. */
async function inside(dir: string, ext: RegExp, name: string): Promise<string | undefined> {
  if (!safeName(name, ext)) return undefined;
  try {
    const root = await fsp.realpath(dir);
    const real = await fsp.realpath(path.join(root, name));
    if (!real.startsWith(root + path.sep)) return undefined;
    return (await fsp.stat(real)).isFile() ? real : undefined;
  } catch { return undefined; }
}

async function sidecar(dir: string): Promise<Map<string, string[]>> {
  const m = new Map<string, string[]>();
  let text;
  try { text = await fsp.readFile(path.join(dir, SIDECAR), 'utf8'); } catch { return m; }
  try {
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list)) return m;
    for (const e of list as { file?: unknown; label?: unknown }[]) {
      const labels = typeof e?.label === 'string' ? [e.label] : Array.isArray(e?.label) ? e.label.filter((x): x is string => typeof x === 'string') : [];
      if (typeof e?.file === 'string' && labels.length) m.set(e.file, labels);
    }
  } catch { /* a broken sidecar labels nothing; the samples are still listed */ }
  return m;
}

export async function listSamples(dir: string | undefined, ext: RegExp, classNames: readonly string[]): Promise<Sample[]> {
  if (!dir) return [];
  let names: string[];
  try { names = await fsp.readdir(dir); } catch { return []; }
  const labels = await sidecar(dir);
  const known = classIndex(classNames);
  const out: Sample[] = [];
  for (const file of names.sort()) {
    if (!(await inside(dir, ext, file))) continue;
    const m = /^(.+?)__/.exec(file);
    const ls = labels.get(file) ?? (m ? [m[1].replace(/_/g, ' ')] : undefined);
    out.push(ls ? { file, label: ls.join(' / '), inClass: ls.some((l) => known.has(norm(l))) } : { file });
  }
  return out;
}

/** An open stream of the sample and its content type, or undefined when it may not be served. The file is
 *  opened by its resolved real path without following a link, so a link swapped in after the check is refused. */
export async function openSample(dir: string | undefined, ext: RegExp, name: string): Promise<{ stream: ReadStream; type: string; size: number } | undefined> {
  if (!dir) return undefined;
  const real = await inside(dir, ext, name);
  if (!real) return undefined;
  let fh;
  try {
    fh = await fsp.open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = await fh.stat();
    if (!st.isFile()) { await fh.close(); return undefined; }
    const ext = path.extname(name).slice(1).toLowerCase();
    return { stream: fh.createReadStream({ autoClose: true }), type: TYPES[ext] ?? 'application/octet-stream', size: st.size };
  } catch { await fh?.close(); return undefined; }
}
