// alexnet predict: class probabilities for image files.
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import type { BackendName, Precision } from '../backend/index.ts';
import { int, choice, BACKENDS, PRECISION_CHOICES, PRECISION_HELP } from './cli-opts.ts';
import { checkWeights } from './errors.ts';

interface Opts { weights: string; top: number; json?: boolean; tenCrop?: boolean; backend: BackendName; threads?: number; precision: Precision }
export interface Prediction { index: number; className: string; probability: number }

export function declare(program: Command): Command {
  return program.command('predict')
    .description('classify images: top-K class names with probabilities')
    .argument('<images...>', 'image files (jpg, png, webp, ...)');
}

export function configure(cmd: Command): void {
  cmd
    .requiredOption('--weights <file>', 'weights (safetensors, .pth or ONNX)')
    .option('--top <k>', 'how many classes to show', int('--top'), 5)
    .option('--json', 'JSON: [{"file","backend","predictions":[{"index","className","probability"}]}]')
    .option('--ten-crop', 'average over the paper\'s 10 crops')
    .addOption(choice('--backend <name>', 'compute backend', BACKENDS, 'auto'))
    .option('--threads <n>', 'kernel threads', int('--threads'))
    .addOption(choice('--precision <p>', PRECISION_HELP, PRECISION_CHOICES, 'fp32'))
    .action(async (images: string[], o: Opts) => {
      // imported here, not at the top: `alexnet --help` and other commands start without sharp and the model
      const [{ prepareInput }, { disposeModel, modelFromWeights }, { softmaxRows, topK }] = await Promise.all([import('../data/preprocess.ts'), import('./infer.ts'), import('../model/postprocess.ts')]);
      checkWeights(o.weights);
      const { model, meta } = await modelFromWeights(o.weights, o.backend, o.threads, o.precision);
      const out: ({ file: string; backend: string; predictions: Prediction[] } | { file: string; error: string })[] = [];
      try {
        const c = meta.preprocessing.crop, views = o.tenCrop ? 10 : 1;
        for (const file of images) {
          let x: Float32Array;
          try {
            const st = statSync(file, { throwIfNoEntry: false });
            if (!st) throw new Error(`file not found: ${file}`);
            if (st.isDirectory()) throw new Error(`is a directory, not an image: ${file}`);
            x = await prepareInput(file, meta.preprocessing, { tenCrop: o.tenCrop });
          } catch (err) {
            out.push({ file, error: (err as Error).message });
            if (!o.json) console.error(`alexnet: ${(err as Error).message}`);
            continue;
          }
          const logits = await model.forward(x, [views, 3, c, c]);
          const p = new Float32Array(model.classes);
          softmaxRows(logits, model.classes).forEach((q, i) => { p[i % model.classes] += q / views; });
          const predictions = topK(p, o.top, meta.classNames).map((t) => ({ index: t.index, className: t.className, probability: t.probability }));
          out.push({ file, backend: model.backend.name, predictions });
          if (!o.json) {
            console.log(file);
            for (const q of predictions) console.log(`  ${(100 * q.probability).toFixed(2).padStart(6)}%  ${q.className} (${q.index})`);
          }
        }
      } finally {
        disposeModel(model);
      }
      if (o.json) console.log(JSON.stringify(out));
      if (out.some((r) => 'error' in r)) process.exitCode = 1;
    });
}
