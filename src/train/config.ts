// A training run's configuration: what `alexnet train` and the API fill in (a recipe's defaults, then the
// flags). Its own file so the recipes (recipe.ts) and the set-up (setup.ts) can both use it without a circle.
import type { BackendName, Precision } from '../backend/index.ts';
import type { Variant } from '../model/types.ts';
import type { ScheduleKind } from './schedule.ts';
import type { InitScheme } from './reinit.ts';

/** The named recipes (recipe.ts fills in each one's settings). */
export type RecipeName = 'default' | 'paper';

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
  /** plateau: epochs without improvement before lr /= 10 (unset: from the epoch count). */
  patience?: number;
  stepEpochs: number;
  out: string;
  seed: number;
  backend: BackendName;
  threads?: number;
  /** 'bf16': bf16 convolutions and fc layers, f32 master weights, optimiser and loss (native, where the CPU has it). */
  precision?: Precision;
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
  /** Scale augmentation: smallest region area as a fraction of the cached square (1 = off, the paper's
   *  fixed-size crops; 0.35 with --image-size 128 for small data sets, see docs/results.md). */
  cropScale: number;
  /** Mean subtraction per channel (default) or per pixel (the paper's mean image). */
  mean: 'channel' | 'pixel';
  /** 'unit': (pixel/255 - mean) / std per channel, unit-variance inputs, whatever the variant (what He and
   *  LSUV assume). 'variant': the variant's own convention (paper: 0..255 minus the mean; torchvision: unit). */
  inputScale?: 'unit' | 'variant';
  /** Stats JSON from `alexnet data stats` (mean + eigen decomposition); ImageNet's otherwise. */
  stats?: string;
  widthScale?: number;
  hidden?: number;
  workers?: number;
  /** Linear lr warm-up over this many steps (0 = none, the paper's). */
  warmupSteps?: number;
  /** 'model': the variant's own init (paper N(0,0.01) / PyTorch default); 'he': Kaiming normal (faster start). */
  initScheme?: InitScheme;
  /** Which recipe filled the settings not given explicitly (src/train/recipe.ts). */
  recipe?: RecipeName;
  /** lr multiplier for the conv layers (features.*); fine-tuning with a new fc8 defaults to 0.1. */
  lrFeatures?: number;
  /** lr multiplier for the classifier (fc6-fc8, classifier.*); the default recipe from scratch uses 0.1. */
  lrClassifier?: number;
  /** Layer-wise rates (LARS): each weight tensor steps at lr * trust * |w| / (|dw| + weightDecay * |w|), biases
   *  at lr; 0 = the paper's single rate. */
  trust?: number;
  /** 'features': conv layers get no update and no gradient work; only the classifier trains. */
  freeze?: 'none' | 'features';
}
