// Where the demo's photos come from, first match wins: --data DIR; $ALEXNET_DATA (a folder with train/
// and val/, or one with imagenette/ and samples/ like the project's shared data); ../shared/data beside
// the checkout; Imagenette already unpacked in the cache; --synthetic; else Imagenette is downloaded.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSyntheticFolder } from '../data/synthetic.ts';
import { scanImageFolder } from '../data/folder.ts';
import { IMAGENET_SYNSETS_FILE } from '../io/hub.ts';
import { cachedImagenette, fetchImagenette } from '../io/imagenette.ts';
import { byteProgress } from './pull.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedData = (): string => process.env.ALEXNET_SHARED_DATA ?? path.resolve(REPO, '../shared/data');

export interface DemoData {
  /** Folder with train/<class>/ and val/<class>/. */
  root: string;
  /** Extra photos to classify (not labelled). */
  samplesDir?: string;
  /** Synset list for class names (wnid -> name); none for the synthetic shapes. */
  labels?: string;
  synthetic: boolean;
  /** One line: where the data came from. */
  said: string;
}

/** A path as the user would type it: relative to the working folder when it is near, else absolute. */
export function shown(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith(`..${path.sep}..${path.sep}`) && !path.isAbsolute(r) ? r : p;
}

const splits = (d: string) => existsSync(path.join(d, 'train')) && existsSync(path.join(d, 'val'));
const dirOrNone = (d: string) => (existsSync(d) ? d : undefined);

export async function demoData(o: { data?: string; synthetic?: boolean; out: string; progress?: 'auto' | 'bar' | 'lines' | 'quiet' }): Promise<DemoData> {
  const shared = sharedData();
  const sharedSamples = dirOrNone(path.join(shared, 'samples'));
  const real = (root: string, said: string, samplesDir = sharedSamples): DemoData => ({ root, samplesDir, labels: IMAGENET_SYNSETS_FILE, synthetic: false, said });
  if (o.data) {
    if (!splits(o.data)) throw new Error(`${o.data} has no train/ and val/ folders (expected ${o.data}/train/<class>/*.jpg and ${o.data}/val/<class>/*.jpg)`);
    return real(path.resolve(o.data), `data: ${o.data} (--data)`);
  }
  const env = process.env.ALEXNET_DATA;
  if (env) {
    if (splits(env)) return real(path.resolve(env), `data: ${env} (ALEXNET_DATA)`);
    if (splits(path.join(env, 'imagenette'))) return real(path.resolve(env, 'imagenette'), `data: ${env}/imagenette (ALEXNET_DATA)`, dirOrNone(path.join(env, 'samples')) ?? sharedSamples);
    throw new Error(`ALEXNET_DATA=${env} has neither train/ and val/ nor imagenette/train/ and imagenette/val/`);
  }
  if (splits(path.join(shared, 'imagenette'))) return real(path.join(shared, 'imagenette'), `data: ${shown(path.join(shared, 'imagenette'))}`);
  const cached = cachedImagenette();
  if (cached) return real(cached, `data: ${shown(cached)} (downloaded earlier)`);
  if (o.synthetic) {
    const root = await makeSyntheticFolder(path.join(o.out, 'synthetic-data'));
    return { root, synthetic: true, said: `training on a SYNTHETIC folder, ${root} (4 classes of coloured shapes): a smoke test, not a demo of real photos` };
  }
  const bar = byteProgress('imagenette', o.progress);
  try {
    const root = await fetchImagenette({ ...bar, log: (m) => console.log(m) });
    bar.stop();
    return real(root, `data: ${shown(root)} (downloaded Imagenette)`);
  } finally {
    bar.stop();
  }
}

/** Validation photos held out of the demo's validation figures, to be classified one by one with their
 *  true class shown: the last `perClass` files (sorted) of each class. The validation set keeps the
 *  first `valLimit` sorted files of each class (scanImageFolder's limitPerClass), so the two never meet. */
export function holdOut(valDir: string, perClass: number, valCap: number): { valLimit: number; files: { path: string; cls: string }[] } {
  const ds = scanImageFolder(valDir);
  const byClass = ds.classes.map((_, k) => ds.files.filter((f) => f.label === k));
  const fewest = Math.min(...byClass.map((l) => l.length));
  if (fewest <= perClass) return { valLimit: valCap, files: [] };
  const valLimit = Math.min(valCap, fewest - perClass);
  return { valLimit, files: byClass.flatMap((l, k) => l.slice(-perClass).map((f) => ({ path: f.path, cls: ds.classes[k] }))) };
}
