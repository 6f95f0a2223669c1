// Pretrained weights by name. `alexnet pull torchvision` fetches torchvision's ImageNet AlexNet
// (from ALEXNET_HUB, default https://download.pytorch.org), checks its full sha256, converts it to
// safetensors with the 1000 ImageNet class names and torchvision's preprocessing, and stores it as
// <ALEXNET_HOME>/weights/torchvision.safetensors; any other file is pulled by URL + sha256.
// Names and the cached file they resolve to live in names.ts.
// Nothing here downloads implicitly: a missing name says which command fetches it.
import { existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WeightsMeta } from '../model/types.ts';
import type { MetaOverrides } from './meta.ts';
import { DownloadError, download, verifyFile, type DownloadEvents } from './download.ts';

export { DEFAULT_HUB, PRETRAINED, hubBase, pretrainedUrl, cachedWeightsPath, downloadsDir, checkName, cachedNames, resolveWeightsPath, type Pretrained } from './names.ts';
import { PRETRAINED, pretrainedUrl, cachedWeightsPath, downloadsDir, checkName } from './names.ts';

/** The 1000 ILSVRC-2012 synsets in index order ("n01440764 tench, Tinca tinca"), shipped with the package. */
export const IMAGENET_SYNSETS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'imagenet-synsets.txt');

let imagenet: string[] | undefined;
/** The 1000 ILSVRC-2012 class names in index order (the first name of each synset, as torchvision's). */
export function imagenetClassNames(): string[] {
  if (imagenet) return imagenet;
  const f = IMAGENET_SYNSETS_FILE;
  const names = readFileSync(f, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => l.replace(/^n\d{8}\s+/, '').split(',')[0].trim());
  if (names.length !== 1000) throw new Error(`${f}: ${names.length} class names, expected 1000`);
  return (imagenet = names);
}

/** What a known file does not carry itself (a .pth holds tensors only): its class names and preprocessing. */
export function pretrainedOverrides(name: string): MetaOverrides {
  const p = PRETRAINED[name];
  return { variant: 'torchvision', classNames: p.classes === 'imagenet' ? imagenetClassNames() : undefined, preprocessing: p.preprocessing };
}

export interface PullRequest {
  /** A PRETRAINED name, or the name to store a URL's file under. */
  name: string;
  /** For a name not in PRETRAINED. */
  url?: string;
  sha256?: string;
  /** A local copy of the file (placed by hand): verified, converted, never deleted. */
  file?: string;
  classNames?: string[];
  /** Pull again even when the cache has the name. */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface PullResult { dest: string; meta: WeightsMeta; source: string; already: boolean; bytes: number }

/** Downloads (or takes `file`), verifies, converts to safetensors in the cache. */
export async function pullWeights(req: PullRequest, ev: DownloadEvents = {}): Promise<PullResult> {
  const env = req.env ?? process.env;
  checkName(req.name);
  const known = Object.hasOwn(PRETRAINED, req.name) && !req.url ? PRETRAINED[req.name] : undefined;
  const url = known ? pretrainedUrl(req.name, env) : req.url;
  const sha256 = (known?.sha256 ?? req.sha256)?.toLowerCase();
  if (!url && !req.file) throw new Error(`${req.name} is not a known name (${Object.keys(PRETRAINED).join(', ')}): pull a URL with --sha256 HEX`);
  if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`--sha256 must be the full 64-digit hex digest of the file (got ${JSON.stringify(req.sha256 ?? '')}): a download is installed only once verified`);
  const dest = cachedWeightsPath(req.name, env);
  const { loadWeights, decodeWeights, saveWeights } = await import('./weights.ts');
  if (existsSync(dest) && !req.force) {
    const { meta } = await loadWeights(dest);
    return { dest, meta, source: dest, already: true, bytes: 0 };
  }
  const base = known?.file ?? ((url && path.basename(new URL(url).pathname)) || `${req.name}.bin`);
  const raw = path.join(downloadsDir(env), base);
  let source = req.file, bytes = 0;
  if (source) {
    const bad = await verifyFile(source, { sha256, size: known?.bytes });
    if (bad) throw new Error(`${source}: ${bad}; not installed`);
  } else {
    if (existsSync(raw)) {
      // left by an earlier pull whose conversion failed, or placed here by hand: use it when it verifies
      const bad = await verifyFile(raw, { sha256, size: known?.bytes });
      if (bad) { unlinkSync(raw); ev.onNote?.(`${raw}: ${bad}; deleted, downloading again`); }
    }
    if (!existsSync(raw)) {
      try {
        bytes = (await download({ url: url!, dest: raw, sha256, size: known?.bytes }, ev)).bytes;
      } catch (e) {
        if (e instanceof DownloadError && (e.kind === 'network' || e.kind === 'http')) throw new Error(`${e.message}. ${byHand(req.name, url!, raw, !!known, sha256)}`);
        throw e;
      }
    }
    source = raw;
  }
  const bytesIn = await readFile(source);
  const over = known ? pretrainedOverrides(req.name) : { classNames: req.classNames };
  const { sd, meta } = await decodeWeights(new Uint8Array(bytesIn.buffer, bytesIn.byteOffset, bytesIn.byteLength), source, over);
  mkdirSync(path.dirname(dest), { recursive: true });
  await saveWeights(dest, sd, meta);
  if (source === raw) unlinkSync(raw);  // the safetensors copy is what loads; keep one copy on disk
  return { dest, meta, source: url ?? source, already: false, bytes };
}

/** What to do without network: where to put the file and the command that installs it. */
function byHand(name: string, url: string, raw: string, known: boolean, sha256: string): string {
  const cmd = known ? `alexnet pull ${name}` : `alexnet pull ${url} --sha256 ${sha256} --name ${name}`;
  return `To install it by hand: fetch ${url} on a machine with network (curl -fLO ${url}), put it at ${raw} and run \`${cmd}\` again, `
    + `or run \`${known ? `alexnet pull ${name}` : `alexnet pull --name ${name} --sha256 ${sha256}`} --file PATH\` with the file anywhere (it is verified, then converted to ${name}.safetensors)`;
}
