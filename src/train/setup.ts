// Training setup: configuration, data (scan + cache), preprocessing and lighting, model creation.
import { accessSync, constants, statSync } from 'node:fs';
import os from 'node:os';
import { formatBytes, writeAtomicSync } from '../util/atomic-write.ts';
import path from 'node:path';
import { createBackend, type BackendName } from '../backend/index.ts';
import { createModel, minInputSize } from '../model/index.ts';
import type { Model, Preprocessing, StateDict, Variant } from '../model/types.ts';
import { IMAGENET_LIGHTING, type Lighting } from '../data/augment.ts';
import { badFilesWarning, loadOrBuildCache, type CachedSplit } from '../data/cache.ts';
import { scanImageFolder, type ImageFolder } from '../data/folder.ts';
import { IMAGENET_STD, defaultPreprocessing } from '../data/preprocess.ts';
import { isShardFolder, shardFolderSplit } from '../data/shards.ts';
import { meanImage, readStats } from '../data/stats.ts';
import type { ScheduleKind } from './schedule.ts';
import { RECIPES, type RecipeName } from './recipe.ts';
import type { TrainConfig } from './config.ts';
import type { Progress } from './progress.ts';
import { reinitialise, type InitScheme } from './reinit.ts';
import { PAPER_SGD } from '../optim/sgd.ts';

export type { TrainConfig } from './config.ts';

/** Shared by every command; entries are keyed by a hash of the sources, so runs reuse them. */
export const DEFAULT_CACHE_DIR = process.env.ALEXNET_CACHE_DIR ?? '.cache/alexnet';

/** Settings that are not hyper-parameters of a recipe. */
export const RUN_DEFAULTS = { seed: 0, backend: 'auto', checkpointMinutes: 10, keepCheckpoints: 3 } as const;

/** The full configuration of a recipe (the default one unless named). */
export function recipeDefaults(name: RecipeName = 'default'): Omit<TrainConfig, 'data' | 'variant' | 'out'> {
  return { ...RECIPES[name], ...RUN_DEFAULTS, recipe: name };
}

export const DEFAULTS = recipeDefaults('default');

/** Crop sides accepted by --image-size (the cache holds round(S*256/224)-px squares of every image). */
export const MAX_IMAGE_SIZE = 1024;

export interface Prepared {
  train: CachedSplit;
  val?: CachedSplit;
  pp: Preprocessing;
  lighting: Lighting;
  meanImg?: Float32Array;
  classes: string[];
  classNames: string[];
  /** Set when --data is a shard folder: the trainer streams it (train holds no pixels). */
  shards?: string;
}

export interface Folders { train: ImageFolder; val?: ImageFolder; crop: number; shards?: { folder: ImageFolder; split: CachedSplit } }

/** Everything that can be checked before any image is decoded: sizes, the folders, the class count.
 *  Throws one line naming the flag or folder and the problem. */
export function checkAndScan(cfg: TrainConfig): Folders {
  const crop = cfg.imageSize ?? (cfg.variant === 'paper' ? 227 : 224);
  const min = minInputSize(cfg.variant);
  if (!Number.isInteger(crop) || crop < min) throw new Error(`--image-size ${crop} is too small for the ${cfg.variant} variant (minimum ${min})`);
  if (crop > MAX_IMAGE_SIZE) throw new Error(`--image-size ${crop} is too large (allowed ${min}..${MAX_IMAGE_SIZE} for the ${cfg.variant} variant)`);
  const side = defaultPreprocessing(cfg.variant, crop).resize;
  const cs = cfg.cropScale ?? 1;
  if (!(cs > 0 && cs <= 1)) throw new Error(`--crop-scale ${cs}: the smallest region's area fraction must be in (0, 1] (1 = off)`);
  if (cs < 1 && cfg.mean === 'pixel') throw new Error(`--crop-scale ${cs} cannot be combined with --mean pixel (the mean image is not resampled); use --mean channel`);
  const shards = isShardFolder(cfg.data) ? shardFolderSplit(cfg.data, side) : undefined; // streamed, never cached whole
  const train = shards?.folder ?? scanImageFolder(cfg.data, { labels: cfg.labels, limitPerClass: cfg.limitPerClass });
  if (cfg.val && isShardFolder(cfg.val)) throw new Error(`--val ${cfg.val}: validation reads an image folder; shard folders are for --data only`);
  if (train.classes.length < 2) {
    throw new Error(`${cfg.data}: only one class folder ("${train.classes[0]}"); a classifier needs at least 2 classes (one folder per class)`);
  }
  const val = cfg.val ? scanImageFolder(cfg.val, { labels: cfg.labels, limitPerClass: cfg.valLimitPerClass, classes: train.classes }) : undefined;
  // the cache holds every image at round(S*256/224) px in memory: refuse what cannot fit before decoding
  const bytes = (train.files.length + (val?.files.length ?? 0)) * side * side * 3;
  if (bytes > os.totalmem()) {
    throw new Error(`--image-size ${crop}: caching ${train.files.length + (val?.files.length ?? 0)} images at ${side}px needs ${formatBytes(bytes)}, more than this machine's ${formatBytes(os.totalmem())} of memory`);
  }
  return { train, val, crop, shards };
}

/** Caches the scanned splits (decoding each image once); errors when none decode. */
/** `writeFiles` false (data-parallel ranks above 0): compute the pixel mean but leave the run folder to rank 0. */
export async function prepareData(cfg: TrainConfig, progress: Progress, folders: Folders = checkAndScan(cfg), writeFiles = true): Promise<Prepared> {
  const { train: trainDs, val: valDs, crop } = folders;
  const pp = defaultPreprocessing(cfg.variant, crop);
  const cacheDir = cfg.cacheDir ?? DEFAULT_CACHE_DIR;
  const build = async (ds: ImageFolder, name: string) => {
    let started = false;
    const t0 = Date.now();
    const c = await loadOrBuildCache(ds, pp.resize, {
      dir: cacheDir, name, workers: cfg.workers,
      onProgress: (d, n) => {
        if (!started) { progress.start(n, `caching ${name} (${pp.resize}px)`); started = true; }
        progress.update(d, { ips: Math.round(d / Math.max(1e-3, (Date.now() - t0) / 1000)), loss: '-', lr: '-' });
      },
    });
    if (started) progress.stop();
    const w = badFilesWarning(`${name} (${ds.root})`, c.bad);
    if (w) progress.log(w);
    if (c.n === 0) throw new Error(`${ds.root}: none of the ${ds.files.length + (ds.skipped?.length ?? 0)} images could be decoded`);
    return c;
  };
  const train = folders.shards?.split ?? await build(trainDs, 'train');
  const val = valDs ? await build(valDs, 'val') : undefined;
  // unit-variance inputs: the paper variant's 0..255 units would make conv1's step ~(255 std)^2 = 3900x larger
  // relative to its (LSUV-scaled) weights than every other layer's, and the default recipe diverge
  if (cfg.inputScale === 'unit') pp.std = [...IMAGENET_STD];
  let lighting: Lighting = { ...IMAGENET_LIGHTING, sigma: cfg.lighting };
  if (cfg.stats) {
    const s = readStats(cfg.stats);
    pp.mean = [...s.mean];
    if ((cfg.variant === 'torchvision' || cfg.inputScale === 'unit') && s.std?.length === 3) pp.std = [...s.std];
    lighting = { sigma: cfg.lighting, eigval: s.eigval, eigvec: s.eigvec };
  }
  let meanImg: Float32Array | undefined;
  if (cfg.mean === 'pixel') {
    if (folders.shards) throw new Error('--mean pixel needs the whole training set in memory; with shards use --mean channel (and --stats)');
    meanImg = meanImage(train);
    const f = path.resolve(cfg.out, MEAN_IMAGE_FILE);
    if (writeFiles) writeAtomicSync(f, new Uint8Array(meanImg.buffer, meanImg.byteOffset, meanImg.byteLength));
    pp.meanImage = f;
  }
  return { train, val, pp, lighting, meanImg, classes: trainDs.classes, classNames: trainDs.classNames, shards: folders.shards && cfg.data };
}

export const MEAN_IMAGE_FILE = 'mean_image.f32';

/** Starting weights from --init, read and checked (exists, readable, architecture, class count) before any caching. */
export interface InitWeights { sd: StateDict; widthScale?: number; hidden?: number }

export async function loadInit(cfg: TrainConfig, classes: number): Promise<InitWeights | undefined> {
  if (!cfg.init) return undefined;
  const { loadWeights, resetClassifier } = await import('../io/weights.ts');
  let st;
  try { st = statSync(cfg.init); } catch { throw new Error(`--init ${cfg.init}: file not found`); }
  if (!st.isFile()) throw new Error(`--init ${cfg.init}: not a file`);
  try { accessSync(cfg.init, constants.R_OK); } catch { throw new Error(`--init ${cfg.init}: not readable (permission denied)`); }
  let loaded;
  try { loaded = await loadWeights(cfg.init, { variant: cfg.variant }); } catch (e) { throw new Error(`--init: ${(e as Error).message}`); }
  const { sd, meta } = loaded;
  // pretrained weights keep the input scale they were trained with (paper variant: 0..255 or unit)
  if (cfg.variant === 'paper' && meta.preprocessing?.std) cfg.inputScale = meta.preprocessing.std[0] < 0.1 ? 'variant' : 'unit';
  if (meta.variant !== cfg.variant) throw new Error(`--init ${cfg.init} holds a ${meta.variant} model but --variant is ${cfg.variant}`);
  if (cfg.resetClassifier) return { sd: resetClassifier(sd, classes, cfg.seed), widthScale: meta.widthScale, hidden: meta.hidden };
  if (meta.classes !== classes) {
    throw new Error(`--init ${cfg.init} has ${meta.classes} classes but the data has ${classes}; add --reset-classifier to fine-tune with a new fc8`);
  }
  return { sd, widthScale: meta.widthScale, hidden: meta.hidden };
}

/** Creates the model (native backend when available) from --init's weights or a fresh initialisation. */
export async function prepareModel(cfg: TrainConfig, classes: number, progress: Progress, initBatch?: () => Promise<{ x: Float32Array; shape: [number, number, number, number] }>, init?: InitWeights): Promise<Model> {
  const backend = await createBackend(cfg.backend, { threads: cfg.threads, precision: cfg.precision });
  const widthScale = init?.widthScale ?? cfg.widthScale, hidden = init?.hidden ?? cfg.hidden;
  cfg.widthScale = widthScale; // resumed runs rebuild the same shapes from the saved config
  cfg.hidden = hidden;
  const model = await createModel({ variant: cfg.variant, classes, backend, seed: cfg.seed, widthScale, hidden });
  if (init) {
    await model.loadStateDict(init.sd);
    progress.log(`initialised from ${cfg.init}${cfg.resetClassifier ? ` (new fc8 for ${classes} classes)` : ''}`);
  } else if ((cfg.initScheme ?? 'model') !== 'model') {
    await reinitialise(model, cfg.initScheme!, cfg.seed, cfg.initScheme === 'lsuv' ? await initBatch?.() : undefined);
    progress.log(`initialisation: ${cfg.initScheme}`);
  }
  return model;
}
