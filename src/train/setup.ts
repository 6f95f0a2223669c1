// Training setup: configuration, data (scan + cache), preprocessing and lighting, model creation.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createBackend, type BackendName } from '../backend/index.ts';
import { createModel, minInputSize } from '../model/index.ts';
import type { Model, Preprocessing, Variant } from '../model/types.ts';
import { IMAGENET_LIGHTING, type Lighting } from '../data/augment.ts';
import { badFilesWarning, loadOrBuildCache, type CachedSplit } from '../data/cache.ts';
import { scanImageFolder } from '../data/folder.ts';
import { defaultPreprocessing } from '../data/preprocess.ts';
import { isShardFolder, shardFolderSplit } from '../data/shards.ts'; // streamed shards
import { meanImage, readStats } from '../data/stats.ts';
import type { ScheduleKind } from './schedule.ts';
import type { Progress } from './progress.ts';
import { reinitialise, type InitScheme } from './reinit.ts';

export interface TrainConfig {
  data: string;
  val?: string;
  variant: Variant;
  /** Crop side (224 torchvision / 227 paper by default); the cache holds round(S*256/224) squares. */
  imageSize?: number;
  epochs: number;
  batch: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: ScheduleKind;
  /** plateau: epochs without improvement before lr /= 10. step: epochs per drop. */
  patience: number;
  stepEpochs: number;
  out: string;
  seed: number;
  backend: BackendName;
  threads?: number;
  labels?: string;
  limitPerClass?: number;
  valLimitPerClass?: number;
  init?: string;
  resetClassifier?: boolean;
  cacheDir?: string;
  checkpointMinutes: number;
  keepCheckpoints: number;
  /** PCA lighting sigma (paper 0.1; 0 = off). */
  lighting: number;
  /** Mean subtraction per channel (default) or per pixel (the paper's mean image). */
  mean: 'channel' | 'pixel';
  /** Stats JSON from `alexnet data stats` (mean + eigen decomposition); ImageNet's otherwise. */
  stats?: string;
  widthScale?: number;
  hidden?: number;
  workers?: number;
  /** Linear lr warm-up over this many steps (0 = none, the paper's). */
  warmupSteps?: number;
  /** 'model': the variant's own init (paper N(0,0.01) / PyTorch default); 'he': Kaiming normal (faster start). */
  initScheme?: InitScheme;
}

/** Shared by every command; entries are keyed by a hash of the sources, so runs reuse them. */
export const DEFAULT_CACHE_DIR = process.env.ALEXNET_CACHE_DIR ?? '.cache/alexnet';

export const DEFAULTS: Omit<TrainConfig, 'data' | 'variant' | 'out'> = {
  epochs: 90, batch: 128, lr: 0.01, momentum: 0.9, weightDecay: 5e-4, schedule: 'plateau', patience: 2, stepEpochs: 30,
  seed: 0, backend: 'auto', checkpointMinutes: 10, keepCheckpoints: 3, lighting: 0.1, mean: 'channel',
};

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

/** Scans and caches the splits; errors before any training for missing/empty folders or class mismatch. */
export async function prepareData(cfg: TrainConfig, progress: Progress): Promise<Prepared> {
  const crop = cfg.imageSize ?? (cfg.variant === 'paper' ? 227 : 224);
  const min = minInputSize(cfg.variant);
  if (!Number.isInteger(crop) || crop < min) throw new Error(`--image-size ${crop} is too small for the ${cfg.variant} variant (minimum ${min})`);
  const pp = defaultPreprocessing(cfg.variant, crop);
  const shards = isShardFolder(cfg.data) ? shardFolderSplit(cfg.data, pp.resize) : undefined; // streamed shards
  const trainDs = shards?.folder ?? scanImageFolder(cfg.data, { labels: cfg.labels, limitPerClass: cfg.limitPerClass });
  if (cfg.val && isShardFolder(cfg.val)) throw new Error(`--val ${cfg.val}: validation reads an image folder; shard folders are for --data only`); // streamed shards
  const valDs = cfg.val ? scanImageFolder(cfg.val, { labels: cfg.labels, limitPerClass: cfg.valLimitPerClass, classes: trainDs.classes }) : undefined;
  const cacheDir = cfg.cacheDir ?? DEFAULT_CACHE_DIR;
  const build = async (ds: typeof trainDs, name: string) => {
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
    if (c.n === 0) throw new Error(`${ds.root}: none of the ${ds.files.length} images could be decoded`);
    return c;
  };
  const train = shards?.split ?? await build(trainDs, 'train'); // streamed shards
  const val = valDs ? await build(valDs, 'val') : undefined;
  let lighting: Lighting = { ...IMAGENET_LIGHTING, sigma: cfg.lighting };
  if (cfg.stats) {
    const s = readStats(cfg.stats);
    pp.mean = [...s.mean];
    if (cfg.variant === 'torchvision' && s.std?.length === 3) pp.std = [...s.std];
    lighting = { sigma: cfg.lighting, eigval: s.eigval, eigvec: s.eigvec };
  }
  let meanImg: Float32Array | undefined;
  if (cfg.mean === 'pixel') {
    if (shards) throw new Error(`--mean pixel needs the whole training set in memory; with shards use --mean channel (and --stats)`); // streamed shards
    meanImg = meanImage(train);
    const f = path.resolve(cfg.out, 'mean_image.f32');
    writeFileSync(f, new Uint8Array(meanImg.buffer));
    pp.meanImage = f;
  }
  return { train, val, pp, lighting, meanImg, classes: trainDs.classes, classNames: trainDs.classNames, shards: shards && cfg.data };
}

/** Creates the model (native backend when available) and applies --init / --reset-classifier. */
export async function prepareModel(cfg: TrainConfig, classes: number, progress: Progress, initBatch?: () => Promise<{ x: Float32Array; shape: [number, number, number, number] }>): Promise<Model> {
  const backend = await createBackend(cfg.backend, { threads: cfg.threads });
  let widthScale = cfg.widthScale, hidden = cfg.hidden;
  let initSd;
  if (cfg.init) {
    const { loadWeights, resetClassifier } = await import('../io/weights.ts');
    const { sd, meta } = await loadWeights(cfg.init, { variant: cfg.variant });
    if (meta.variant !== cfg.variant) throw new Error(`--init ${cfg.init} holds a ${meta.variant} model but --variant is ${cfg.variant}`);
    widthScale = meta.widthScale ?? widthScale;
    hidden = meta.hidden ?? hidden;
    if (cfg.resetClassifier) initSd = resetClassifier(sd, classes, cfg.seed);
    else if (meta.classes !== classes) {
      throw new Error(`--init ${cfg.init} has ${meta.classes} classes but the data has ${classes}; add --reset-classifier to fine-tune with a new fc8`);
    } else initSd = sd;
    progress.log(`initialised from ${cfg.init}${cfg.resetClassifier ? ` (new fc8 for ${classes} classes)` : ''}`);
  }
  cfg.widthScale = widthScale; // resumed runs rebuild the same shapes from the saved config
  cfg.hidden = hidden;
  const model = await createModel({ variant: cfg.variant, classes, backend, seed: cfg.seed, widthScale, hidden });
  if (initSd) await model.loadStateDict(initSd);
  else if ((cfg.initScheme ?? 'model') !== 'model') {
    await reinitialise(model, cfg.initScheme!, cfg.seed, cfg.initScheme === 'lsuv' ? await initBatch?.() : undefined);
    progress.log(`initialisation: ${cfg.initScheme}`);
  }
  return model;
}
