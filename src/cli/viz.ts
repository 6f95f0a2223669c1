// alexnet viz --weights W [--image IMG] --out DIR: the conv1 filter grid and (with an image) the crop,
// the top-5 and every conv layer's strongest activation maps, as PNG files for people not at a browser.
import type { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { modelFromWeights } from '../viz/load.ts';
import { conv1Weight, filterTiles, filterGrid } from '../viz/filters.ts';
import { prepareImage } from '../viz/image.ts';
import { imageActivations } from '../viz/activations.ts';
import { activationGrid } from '../viz/grid.ts';
import { encodePng } from '../viz/png.ts';
import { resolveWeightsPath } from '../io/hub.ts';

export interface VizOptions { weights: string; image?: string; out: string; top?: number; backend?: 'ref' | 'native' | 'auto'; scale?: number }
export interface VizResult { files: string[]; predictions?: { index: number; className: string; probability: number }[] }

export async function runViz(o: VizOptions): Promise<VizResult> {
  if (!existsSync(resolveWeightsPath(o.weights))) throw new Error(`weights file not found: ${o.weights}`);  // a pulled name (torchvision) is a file too
  if (o.image && !existsSync(o.image)) throw new Error(`image not found: ${o.image}`);
  const top = o.top ?? 16;
  if (!(Number.isInteger(top) && top >= 1 && top <= 256)) throw new Error(`--top must be an integer in 1..256, got ${o.top}`);
  mkdirSync(o.out, { recursive: true });
  const { model, meta } = await modelFromWeights(o.weights, o.backend ?? 'auto');
  const files: string[] = [];
  const write = async (name: string, img: { width: number; height: number; rgb: Uint8Array }) => {
    const file = path.join(o.out, name);
    await writeFile(file, await encodePng(img.rgb, img.width, img.height));
    files.push(file);
  };
  try {
    await write('filters.png', filterGrid(filterTiles(await conv1Weight(model), model.variant), { scale: o.scale ?? 6 }));
    if (!o.image) return { files };
    const img = await prepareImage(o.image, meta.preprocessing);
    await write('input.png', { width: img.size, height: img.size, rgb: img.cropRgb });
    const r = await imageActivations(model, img.input, img.shape, meta.classNames, { top, topk: 5 });
    for (const layer of r.layers) await write(`activations-${layer.name}.png`, activationGrid(layer));
    return { files, predictions: r.predictions };
  } finally {
    model.dispose();
  }
}

export function register(program: Command): void {
  program.command('viz')
    .description('write the conv1 filter grid and (with --image) every conv layer\'s strongest activation maps as PNG files')
    .requiredOption('--weights <file>', 'weights (safetensors, torchvision .pth or ONNX)')
    .option('--image <file>', 'an image to show the activation maps for')
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .option('--top <n>', 'channels per layer, strongest (highest mean activation) first', (v) => Number(v), 16)
    .option('--backend <name>', 'ref | native | auto', 'auto')
    .action(async (opts: { weights: string; image?: string; out: string; top: number; backend: 'ref' | 'native' | 'auto' }) => {
      if (!['ref', 'native', 'auto'].includes(opts.backend)) throw new Error(`unknown backend ${JSON.stringify(opts.backend)} (use ref, native or auto)`);
      const r = await runViz(opts);
      if (r.predictions) {
        console.log(`top-5 for ${opts.image}:`);
        for (const p of r.predictions) console.log(`  ${(100 * p.probability).toFixed(1).padStart(5)}%  ${p.className}`);
      }
      console.log(`wrote ${r.files.length} PNG file${r.files.length === 1 ? '' : 's'}:`);
      for (const f of r.files) console.log(`  ${f}`);
    });
}
