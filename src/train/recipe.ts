// Named training recipes. A recipe fills every hyper-parameter the user did not give; explicit flags
// always win. Settings that depend on the data (warm-up length, plateau patience, fine-tuning rates)
// are resolved once the steps per epoch are known, and the run log's `start` record lists the result.
//
//   default: works at any scale, from 3 classes x 60 photos to ImageNet. He init rescaled to unit
//            variance per layer on a real batch (LSUV), one epoch of linear warm-up, cosine decay to 0,
//            unit-variance inputs on both variants, layer-wise rates (LARS, trust 0.2). Without batch norm,
//            AlexNet's own initialisations (N(0, 0.01) / PyTorch's) leave the loss at ln(classes) for epochs,
//            and a plateau schedule then cuts the rate while nothing learns. LSUV scales each layer's weights
//            to its input, so the input must be unit-scale too: with the paper variant's 0..255 inputs conv1's
//            step relative to its weights was 8.5 at lr 0.01 against 0.001-0.007 for every other layer, and
//            the run went to NaN.
//            With one rate for all layers fc8 moved 0.05-0.13 of its norm per step and the conv layers
//            0.0002-0.008, so the rate that kept fc8 stable left the features nearly untrained: on 3 classes x
//            60 photos (8 epochs, batch 16) both variants ended at 55-62% val top-1 over seeds. LARS gives each
//            weight tensor a step of about lr x trust x its norm (0.2% at the peak lr, before momentum): 60.3-68.7%
//            over the same six runs (docs/results.md), where the variants' own init stays at 33%.
//   paper:   the 2012 paper exactly: N(0, 0.01) weights with bias 1 in conv2, conv4, conv5, fc6, fc7,
//            batch 128, lr 0.01 divided by 10 when validation error stops improving, 90 epochs, random
//            crops + flips + PCA lighting (sigma 0.1), the per-pixel mean image subtracted.
import { PAPER_SGD } from '../optim/sgd.ts';
import type { RecipeName, TrainConfig } from './config.ts';

export type { RecipeName };
export const RECIPE_NAMES = ['default', 'paper'] as const;

type Tunable = Pick<TrainConfig, 'epochs' | 'batch' | 'lr' | 'momentum' | 'weightDecay' | 'schedule' | 'stepEpochs' | 'lighting' | 'cropScale' | 'mean' | 'inputScale' | 'initScheme' | 'trust'> &
  Partial<Pick<TrainConfig, 'patience' | 'warmupSteps'>>;

/** The default recipe's layer-wise trust (LARS): at the peak lr of 0.01 a weight tensor's step before momentum is
 *  0.2% of its norm. Measured on 3 classes x 60 photos: docs/results.md. */
export const DEFAULT_TRUST = 0.2;

const COMMON = { batch: PAPER_SGD.batch, lr: PAPER_SGD.lr, momentum: PAPER_SGD.momentum, weightDecay: PAPER_SGD.weightDecay, stepEpochs: 30, lighting: 0.1, cropScale: 1 } as const;

export const RECIPES: Record<RecipeName, Tunable> = {
  default: { ...COMMON, epochs: 90, schedule: 'cosine', initScheme: 'lsuv', mean: 'channel', inputScale: 'unit', trust: DEFAULT_TRUST },
  paper: { ...COMMON, epochs: 90, schedule: 'plateau', initScheme: 'model', mean: 'pixel', inputScale: 'variant', warmupSteps: 0, trust: 0 },
};

/** Every hyper-parameter the run log records as "in force". */
export const SETTING_KEYS = ['recipe', 'epochs', 'batch', 'lr', 'momentum', 'weightDecay', 'schedule', 'warmupSteps', 'patience', 'stepEpochs',
  'initScheme', 'lighting', 'cropScale', 'mean', 'inputScale', 'imageSize', 'lrFeatures', 'lrClassifier', 'freeze', 'trust', 'seed'] as const;

export const RECIPE_HELP = 'default (LSUV init, unit-variance inputs, layer-wise rates (LARS), 1 epoch warm-up, cosine decay: learns at any scale) | paper (N(0,0.01) + bias-1 init, batch 128, lr/10 on plateau, 90 epochs, mean image)';

/** Plateau patience for the paper recipe: the paper cut the rate about three times in 90 epochs. */
export function paperPatience(epochs: number): number {
  return Math.max(2, Math.round(epochs / 15));
}

/** Fills what depends on the data: warm-up (default recipe: one epoch), plateau patience, and the
 *  fine-tuning rate of the pretrained conv layers (0.1 x lr when fc8 is new). Returns a new config. */
export function resolveSettings(cfg: TrainConfig, stepsPerEpoch: number): TrainConfig {
  const r = cfg.recipe ?? 'default';
  const out = { ...cfg, recipe: r };
  out.warmupSteps ??= r === 'paper' ? 0 : stepsPerEpoch;
  out.patience ??= paperPatience(cfg.epochs);
  out.lrFeatures ??= cfg.init && cfg.resetClassifier ? 0.1 : 1;
  out.lrClassifier ??= 1;
  out.freeze ??= 'none';
  return out;
}

/** The settings a run trains with, for the log. */
export function settingsOf(cfg: TrainConfig): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) s[k] = cfg[k];
  // weights from --init replace the recipe's initialisation: say so rather than list a scheme that never ran
  if (cfg.init) { s.initScheme = 'weights'; s.init = cfg.init; }
  return s;
}
