// Pretrained weights by name: the table of known files (torchvision's ImageNet AlexNet) and the one place
// a `--weights NAME` becomes a file (loadWeights calls resolveWeightsPath). Fetching them is hub.ts's job;
// this module reads nothing but the cache folder, so the format registry can use it without a circle.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Preprocessing } from '../model/types.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../model/preprocessing.ts';
import { alexnetHome, homeWeightsDir } from '../util/home.ts';

export const DEFAULT_HUB = 'https://download.pytorch.org';

export interface Pretrained {
  /** File name on the hub, under /models/. */
  file: string;
  sha256: string;
  bytes: number;
  classes: 'imagenet';
  preprocessing: Preprocessing;
  about: string;
}

export const PRETRAINED: Record<string, Pretrained> = {
  torchvision: {
    // torchvision.models.AlexNet_Weights.IMAGENET1K_V1. The file name carries the hash's first 8 hex
    // digits; the full digest and size are the ones projects pinning this file agree on.
    file: 'alexnet-owt-7be5be79.pth',
    sha256: '7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02',
    bytes: 244_408_911,
    classes: 'imagenet',
    // torchvision's ImageClassification(crop_size=224) for these weights: resize the short side to 256,
    // centre-crop 224, ImageNet mean/std on 0..1 pixels.
    preprocessing: { resize: 256, crop: 224, mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] },
    about: "torchvision's ImageNet-1k AlexNet (56.5% top-1, 79.1% top-5 on ImageNet val, as torchvision reports)",
  },
};

export const hubBase = (env: NodeJS.ProcessEnv = process.env): string => (env.ALEXNET_HUB || DEFAULT_HUB).replace(/\/+$/, '');
export const pretrainedUrl = (name: string, env: NodeJS.ProcessEnv = process.env): string => `${hubBase(env)}/models/${PRETRAINED[name].file}`;
export const cachedWeightsPath = (name: string, env?: NodeJS.ProcessEnv): string => path.join(homeWeightsDir(env), `${name}.safetensors`);
/** Raw downloads before conversion (and their .partial files). */
export const downloadsDir = (env?: NodeJS.ProcessEnv): string => path.join(alexnetHome(env), 'downloads');

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const WEIGHTS_EXT = /\.(safetensors|st|pth|pt|onnx)$/i;

export function checkName(name: string): string {
  if (!NAME_RE.test(name) || WEIGHTS_EXT.test(name)) throw new Error(`--name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-' and no weights extension (it is stored as <name>.safetensors)`);
  return name;
}

/** Names of the weights in the cache. */
export function cachedNames(env?: NodeJS.ProcessEnv): string[] {
  try { return readdirSync(homeWeightsDir(env)).filter((f) => f.endsWith('.safetensors') && !f.startsWith('.')).map((f) => f.slice(0, -12)).sort(); } catch { return []; }
}

/** `--weights X`: an existing file is itself; a bare name (torchvision, or any pulled --name) is its
 *  cached file. A name that is not pulled yet fails with the command that pulls it. */
export function resolveWeightsPath(arg: string, env: NodeJS.ProcessEnv = process.env): string {
  if (existsSync(arg) || !NAME_RE.test(arg) || WEIGHTS_EXT.test(arg)) return arg;
  const f = cachedWeightsPath(arg, env);
  if (existsSync(f)) return f;
  if (Object.hasOwn(PRETRAINED, arg)) throw new Error(`${arg} weights are not downloaded: run \`alexnet pull ${arg}\``);
  const have = cachedNames(env);
  throw new Error(`weights not found: ${arg} is neither a file nor pulled weights in ${homeWeightsDir(env)} (pulled: ${have.join(', ') || 'none'}; known: ${Object.keys(PRETRAINED).join(', ')})`);
}

