// Imagenette (fast.ai's 10-class ImageNet subset, 320 px short side) for users without a local copy:
// downloaded once into <ALEXNET_HOME>/data/, verified, unpacked into a temp folder and renamed into place,
// so <home>/data/imagenette2-320 is either absent or complete. ALEXNET_IMAGENETTE_URL points at a mirror
// (with ALEXNET_IMAGENETTE_MD5 for its digest; a mirror's file is otherwise checked by size only).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { NoSpaceError, alive, freeBytes } from '../util/atomic-write.ts';
import { homeDataDir } from '../util/home.ts';
import { DownloadError, download, type DownloadEvents } from './download.ts';
import { extractTar } from './tar.ts';

export const IMAGENETTE = {
  url: 'https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz',
  // the digest torchvision.datasets.Imagenette pins for this archive
  md5: '3df6f0d01a2c9592104656642f5e78a3',
  approxBytes: 341e6,
  folder: 'imagenette2-320',
  about: "Imagenette (fast.ai's 10-class subset of ImageNet: 9,469 train / 3,925 val photos, 320 px)",
};

export interface ImagenetteSource { url: string; md5?: string; dir: string; archive: string; official: boolean }

export function imagenetteSource(env: NodeJS.ProcessEnv = process.env): ImagenetteSource {
  const url = env.ALEXNET_IMAGENETTE_URL || IMAGENETTE.url;
  const official = url === IMAGENETTE.url;
  const data = homeDataDir(env);
  const md5 = env.ALEXNET_IMAGENETTE_MD5 || (official ? IMAGENETTE.md5 : undefined);
  return { url, md5, official, dir: path.join(data, IMAGENETTE.folder), archive: path.join(data, path.basename(new URL(url).pathname) || 'imagenette.tgz') };
}

/** The unpacked folder (with train/ and val/) when it is there. */
export function cachedImagenette(env?: NodeJS.ProcessEnv): string | undefined {
  const { dir } = imagenetteSource(env);
  return existsSync(path.join(dir, 'train')) && existsSync(path.join(dir, 'val')) ? dir : undefined;
}

/** Downloads and unpacks Imagenette unless it is cached; returns the folder holding train/ and val/. */
export async function fetchImagenette(ev: DownloadEvents & { log?(msg: string): void } = {}, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const have = cachedImagenette(env);
  if (have) return have;
  const src = imagenetteSource(env);
  const data = path.dirname(src.dir);
  mkdirSync(data, { recursive: true });
  removeStaleUnpacks(data);
  if (!existsSync(src.archive)) {
    ev.log?.(`downloading ${IMAGENETTE.about}${src.official ? `, about ${Math.round(IMAGENETTE.approxBytes / 1e6)} MB` : ''}, from ${src.url} into ${data}`);
    try {
      await download({ url: src.url, dest: src.archive, md5: src.md5 }, ev);
    } catch (e) {
      if (e instanceof DownloadError && (e.kind === 'network' || e.kind === 'http')) {
        throw new Error(`${e.message}. Without network: fetch ${src.url} elsewhere, put it at ${src.archive} and run the demo again, or point ALEXNET_DATA at a folder with train/<class>/*.jpg and val/<class>/*.jpg`);
      }
      throw e;
    }
  }
  // JPEGs do not compress: the unpacked folder needs about the archive's size again
  const need = statSync(src.archive).size, free = freeBytes(data);
  if (need * 1.05 > free) throw new NoSpaceError(data, need, free);
  const tmp = path.join(data, `.${IMAGENETTE.folder}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    ev.log?.(`unpacking ${path.basename(src.archive)} ...`);
    const t0 = Date.now();
    const st = await extractTar(src.archive, tmp);
    const top = hasSplits(tmp) ? tmp : findRoot(tmp);
    if (!top) throw new Error(`${src.archive}: no train/ and val/ folders inside; not an Imagenette archive`);
    renameSync(top, src.dir);
    ev.log?.(`unpacked ${st.files} files (${(st.bytes / 1e6).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(0)} s into ${src.dir}`);
  } catch (e) {
    // a bad archive would fail the same way next time: drop it so the next run downloads it again
    if (!(e instanceof NoSpaceError)) try { unlinkSync(src.archive); } catch { /* already gone */ }
    throw e;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  unlinkSync(src.archive);  // the unpacked folder is what is used; keep one copy on disk
  return src.dir;
}

/** The one folder inside `dir` (imagenette2-320/) holding train/ and val/. */
const hasSplits = (d: string) => existsSync(path.join(d, 'train')) && existsSync(path.join(d, 'val'));

function findRoot(dir: string): string | undefined {
  const subs = readdirSync(dir).map((n) => path.join(dir, n)).filter(hasSplits);
  return subs.length === 1 ? subs[0] : undefined;
}

/** Unpack folders of runs that were killed (their pid is gone). */
function removeStaleUnpacks(data: string): void {
  const re = new RegExp(`^\\.${IMAGENETTE.folder}\\.tmp-(\\d+)$`);
  for (const n of readdirSync(data)) {
    const m = re.exec(n);
    if (m && !alive(Number(m[1]))) rmSync(path.join(data, n), { recursive: true, force: true });
  }
}
