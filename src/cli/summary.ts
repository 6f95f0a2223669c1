// alexnet summary: per-layer output shapes, parameters and MACs (static; no backend or weights needed).
import type { Command } from 'commander';
import { choice, VARIANTS } from './cli-opts.ts';
import { defaultInputSize, minInputSize } from '../model/spec.ts';
import { formatSummary, summarize } from '../model/summary.ts';
import type { Variant } from '../model/types.ts';

interface Opts { variant: string; classes: string; imageSize?: string; json?: boolean }

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${v}'`);
  return n;
}

export function declare(program: Command): Command {
  return program.command('summary')
    .description('print the layer table: output shapes, parameters and multiply-accumulates');
}

export function configure(cmd: Command): void {
  cmd
    .addOption(choice('--variant <name>', 'architecture', VARIANTS, 'paper'))
    .option('--classes <n>', 'output classes (fc8 width)', '1000')
    .option('--image-size <s>', 'square input side (default 227 paper, 224 torchvision)')
    .option('--json', 'one line of JSON instead of the table')
    .action((o: Opts) => {
      const variant = o.variant as Variant;
      const classes = positiveInt('--classes', o.classes);
      const inputSize = o.imageSize === undefined ? defaultInputSize(variant) : positiveInt('--image-size', o.imageSize);
      const min = minInputSize(variant);
      if (inputSize < min) throw new Error(`--image-size ${inputSize} is too small for the ${variant} variant (minimum ${min})`);
      const s = summarize({ variant, classes, inputSize });
      if (o.json) {
        const layers = s.rows.map((r) => ({ name: r.name, outputShape: r.outputShape, params: r.params, macs: r.macs }));
        console.log(JSON.stringify({ variant, layers, totalParams: s.totalParams, totalMacs: s.totalMacs }));
      } else {
        console.log(formatSummary(variant, inputSize, s));
      }
    });
}
