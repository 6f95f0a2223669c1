// alexnet predict: class probabilities for image files.
import type { Command } from 'commander';
import { prepareInput } from '../data/preprocess.ts';
import { disposeModel, modelFromWeights, softmax, topK } from '../train/infer.ts';
import { int, oneOf } from '../train/cli-opts.ts';

interface Opts { weights?: string; top: number; json?: boolean; tenCrop?: boolean; backend: 'auto' | 'native' | 'ref' | 'webgpu'; threads?: number }
export interface Prediction { index: number; className: string; probability: number }

export function register(program: Command): void {
  program
    .command('predict')
    .description('classify images: top-K class names with probabilities')
    .argument('<images...>', 'image files (jpg, png, webp, ...)')
    .option('--weights <file>', 'weights (safetensors, .pth or ONNX)')
    .option('--top <k>', 'how many classes to show', int('--top'), 5)
    .option('--json', 'JSON: [{"file","backend","predictions":[{"index","className","probability"}]}]')
    .option('--ten-crop', 'average over the paper\'s 10 crops')
    .option('--backend <name>', 'auto | native | ref | webgpu', oneOf('--backend', ['auto', 'native', 'ref', 'webgpu'] as const), 'auto')
    .option('--threads <n>', 'kernel threads', int('--threads'))
    .action(async (images: string[], o: Opts) => {
      if (!o.weights) throw new Error('--weights FILE is required');
      const { model, meta } = await modelFromWeights(o.weights, o.backend, o.threads);
      const out: ({ file: string; backend: string; predictions: Prediction[] } | { file: string; error: string })[] = [];
      try {
        const c = meta.preprocessing.crop, views = o.tenCrop ? 10 : 1;
        for (const file of images) {
          let x: Float32Array;
          try {
            x = await prepareInput(file, meta.preprocessing, { tenCrop: o.tenCrop });
          } catch (err) {
            out.push({ file, error: (err as Error).message });
            if (!o.json) console.error(`alexnet: ${(err as Error).message}`);
            continue;
          }
          const logits = await model.forward(x, [views, 3, c, c]);
          const p = new Float32Array(model.classes);
          for (let v = 0; v < views; v++) softmax(logits, v * model.classes, model.classes).forEach((q, k) => { p[k] += q / views; });
          const predictions = topK(p, Math.min(o.top, model.classes)).map((t) => ({ index: t.index, className: meta.classNames[t.index] ?? String(t.index), probability: t.probability }));
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
