// alexnet viz --weights W [--image IMG] --out DIR: the conv1 filter grid and (with an image) the crop,
// the top-5 and every conv layer's strongest activation maps, as PNG files for people not at a browser.
import type { Command } from 'commander';
import type { BackendName } from '../backend/index.ts';
import { BACKENDS, choice } from './cli-opts.ts';
import { mkdirSync } from 'node:fs';
import { checkFile, checkWeights } from './errors.ts';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface VizOptions { weights: string; image?: string; out: string; top?: number; backend?: BackendName; scale?: number }
export interface VizResult { files: string[]; groupColour?: number[]; predictions?: { index: number; className: string; probability: number }[] }

export async function runViz(o: VizOptions): Promise<VizResult> {
  checkWeights(o.weights);
  if (o.image) checkFile(o.image, 'image');
  const top = o.top ?? 16;
  if (!(Number.isInteger(top) && top >= 1 && top <= 256)) throw new Error(`--top must be an integer in 1..256, got ${o.top}`);
  mkdirSync(o.out, { recursive: true });
  // imported here, not at the top: `alexnet --help` and other commands start without sharp and the model
  const [{ modelFromWeights }, { conv1Weight, filterTiles, filterGrid, groupColourShare }, { prepareImage }, { imageActivations }, { activationGrid }, { encodePng }] = await Promise.all([
    import('../viz/load.ts'), import('../viz/filters.ts'), import('../viz/image.ts'), import('../viz/activations.ts'), import('../viz/grid.ts'), import('../viz/png.ts'),
  ]);
  const { model, meta } = await modelFromWeights(o.weights, o.backend ?? 'auto');
  const files: string[] = [];
  const write = async (name: string, img: { width: number; height: number; rgb: Uint8Array }) => {
    const file = path.join(o.out, name);
    await writeFile(file, await encodePng(img.rgb, img.width, img.height));
    files.push(file);
  };
  try {
    const w1 = await conv1Weight(model), tiles = filterTiles(w1, model.variant);
    await write('filters.png', filterGrid(tiles, { scale: o.scale ?? 6 }));
    const groupColour = groupColourShare(w1, tiles);
    if (!o.image) return { files, groupColour };
    const img = await prepareImage(o.image, meta.preprocessing);
    await write('input.png', { width: img.size, height: img.size, rgb: img.cropRgb });
    const r = await imageActivations(model, img.input, img.shape, meta.classNames, { top, topk: 5 });
    for (const layer of r.layers) await write(`activations-${layer.name}.png`, activationGrid(layer));
    return { files, groupColour, predictions: r.predictions };
  } finally {
    model.dispose();
  }
}

export function declare(program: Command): Command {
  return program.command('viz')
    .description('write the conv1 filter grid and (with --image) every conv layer\'s strongest activation maps as PNG files');
}

export function configure(cmd: Command): void {
  cmd
    .requiredOption('--weights <file>', 'weights (safetensors, torchvision .pth or ONNX)')
    .option('--image <file>', 'an image to show the activation maps for')
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .option('--top <n>', 'channels per layer, strongest (highest mean activation) first', (v) => Number(v), 16)
    .addOption(choice('--backend <name>', 'compute backend', BACKENDS, 'auto'))
    .action(async (opts: { weights: string; image?: string; out: string; top: number; backend: BackendName }) => {
      const r = await runViz(opts);
      if (r.predictions) {
        console.log(`top-5 for ${opts.image}:`);
        for (const p of r.predictions) console.log(`  ${(100 * p.probability).toFixed(1).padStart(5)}%  ${p.className}`);
      }
      if (r.groupColour) {
        const g = r.groupColour.map((v) => v.toFixed(3));
        console.log(r.groupColour.length > 1
          ? `conv1 colour share (off-grey fraction of the weights), per group: ${g.join(' | ')} (the paper's halves split into colour-agnostic and colour-specific filters)`
          : `conv1 colour share (off-grey fraction of the weights): ${g[0]}`);
      }
      console.log(`wrote ${r.files.length} PNG file${r.files.length === 1 ? '' : 's'}:`);
      for (const f of r.files) console.log(`  ${f}`);
    });
}
