// ImageFolder datasets: root/<class>/*.{jpg,jpeg,png,webp}, classes in sorted folder order
// (torchvision's convention), WordNet ids mapped to readable names through a synset list.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const IMAGE_EXTS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface ImageFile { path: string; label: number; size: number; mtimeMs: number }
export interface ImageFolder {
  root: string;
  /** Folder names (e.g. WordNet ids), sorted; index = class label. */
  classes: string[];
  /** Readable names (synset list's first name, else the folder name). */
  classNames: string[];
  files: ImageFile[];
  /** Entries that look like images but cannot be opened (dangling symlink, symlink loop, a folder named
   *  x.jpg): left out and counted with the undecodable ones, never fatal. */
  skipped?: { path: string; reason: string }[];
}

/** Reads "n01440764 tench, Tinca tinca" lines -> wnid -> "tench" (the first comma-separated name). */
export function readSynsets(file: string): Map<string, string> {
  if (!existsSync(file)) throw new Error(`labels file not found: ${file}`);
  const m = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    const sp = t.indexOf(' ');
    if (sp <= 0) continue;
    m.set(t.slice(0, sp), t.slice(sp + 1).split(',')[0].trim());
  }
  if (m.size === 0) throw new Error(`labels file ${file}: no "wnid name, ..." lines`);
  return m;
}

export interface ScanOptions {
  /** Synset list file or an already-read map. */
  labels?: string | Map<string, string>;
  /** Keep the first N files (sorted) of each class. */
  limitPerClass?: number;
  /** Expected classes (e.g. the training split's): the folder must hold exactly these. */
  classes?: string[];
}

function unopenable(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return 'symlink loop';
  if (code === 'ENOENT') return 'dangling symlink (target missing)';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/** Lists an ImageFolder. Throws a clear error for a missing directory, no class folders or an empty class. */
export function scanImageFolder(root: string, opts: ScanOptions = {}): ImageFolder {
  const abs = path.resolve(root);
  if (!existsSync(abs)) throw new Error(`data directory not found: ${root}`);
  if (!statSync(abs).isDirectory()) throw new Error(`not a directory: ${root}`);
  const classes = readdirSync(abs, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDir(path.join(abs, e.name)))))
    .map((e) => e.name)
    .sort();
  if (classes.length === 0) throw new Error(`${root}: no class folders (expected ${root}/<class>/*.jpg)`);
  if (opts.classes) {
    const want = opts.classes;
    const missing = want.filter((c) => !classes.includes(c));
    const extra = classes.filter((c) => !want.includes(c));
    if (missing.length || extra.length) {
      throw new Error(`${root}: class folders do not match the training classes` +
        (missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}` : '') + (extra.length ? `; unexpected: ${extra.slice(0, 5).join(', ')}` : ''));
    }
  }
  const order = opts.classes ?? classes;
  const syn = typeof opts.labels === 'string' ? readSynsets(opts.labels) : opts.labels;
  const files: ImageFile[] = [];
  const skipped: NonNullable<ImageFolder['skipped']> = [];
  order.forEach((cls, label) => {
    const dir = path.join(abs, cls);
    let names = readdirSync(dir).filter((n) => IMAGE_EXTS.includes(path.extname(n).toLowerCase())).sort();
    if (names.length === 0) throw new Error(`${root}: class folder "${cls}" holds no images (.jpg .jpeg .png .webp)`);
    if (opts.limitPerClass && opts.limitPerClass > 0) names = names.slice(0, opts.limitPerClass);
    for (const n of names) {
      const p = path.join(dir, n);
      let st;
      try { st = statSync(p); } catch (e) { skipped.push({ path: p, reason: unopenable(e) }); continue; }
      if (!st.isFile()) { skipped.push({ path: p, reason: 'not a regular file' }); continue; }
      files.push({ path: p, label, size: st.size, mtimeMs: Math.floor(st.mtimeMs) });
    }
  });
  const classNames = order.map((c) => syn?.get(c) ?? c);
  return { root: abs, classes: order, classNames, files, skipped };
}
