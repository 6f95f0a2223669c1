// alexnet eval: top-1 / top-5 on an image folder, centre crop or the paper's 10 crops.
import type { Command } from 'commander';
import type { BackendName, Precision } from '../backend/index.ts';
import { int, choice, BACKENDS, PROGRESS, PRECISION_CHOICES, PRECISION_HELP } from './cli-opts.ts';
import { checkDir, checkFile, checkWeights } from './errors.ts';

interface Opts { weights: string; data: string; tenCrop?: boolean; json?: boolean; batch: number; backend: BackendName; threads?: number; precision: Precision; labels?: string; limitPerClass?: number; cacheDir?: string; imageSize?: number; progress?: 'auto' | 'bar' | 'lines' | 'quiet' }

export function declare(program: Command): Command {
  return program.command('eval')
    .description('top-1/top-5 accuracy of weights on an image folder (centre crop, or --ten-crop as in the paper)');
}

export function configure(cmd: Command): void {
  cmd
    .requiredOption('--weights <file>', 'weights (safetensors, .pth or ONNX)')
    .requiredOption('--data <dir>', 'images, one folder per class (the training class order)')
    .option('--ten-crop', 'average the softmax over 4 corners + centre and their mirrors')
    .option('--json', 'one line: {"top1","top5","images","protocol","backend"}')
    .option('--batch <n>', 'batch size', int('--batch'), 64)
    .addOption(choice('--backend <name>', 'compute backend', BACKENDS, 'auto'))
    .option('--threads <n>', 'kernel threads', int('--threads'))
    .addOption(choice('--precision <p>', PRECISION_HELP, PRECISION_CHOICES, 'fp32'))
    .option('--labels <file>', 'synset list to map wnid folders onto 1000-class ImageNet weights')
    .option('--limit-per-class <n>', 'only the first N images of each class', int('--limit-per-class'))
    .option('--cache-dir <dir>', 'preprocessing cache (default .cache/alexnet)')
    .option('--image-size <s>', 'test crop side (default: the training crop in the weights); images are resized to round(S*256/224) first', int('--image-size'))
    .addOption(choice('--progress <mode>', 'progress display', PROGRESS))
    .action(async (o: Opts) => {
      // imported here, not at the top: `alexnet --help` and other commands start without sharp and the model
      const [{ badFilesWarning, loadOrBuildCache }, { scanImageFolder }, { BatchLoader }, { evaluate }, { disposeModel, labelMapping, modelFromWeights }, { makeProgress }, { DEFAULT_CACHE_DIR }, { atCrop }] = await Promise.all([
        import('../data/cache.ts'), import('../data/folder.ts'), import('../data/loader.ts'), import('../train/evaluate.ts'), import('./infer.ts'), import('../train/progress.ts'), import('../train/setup.ts'), import('../model/preprocessing.ts'),
      ]);
      checkWeights(o.weights);
      checkDir(o.data, 'image folder');
      if (o.labels) checkFile(o.labels, 'labels file');
      const ds = scanImageFolder(o.data, { limitPerClass: o.limitPerClass });
      const { model, meta } = await modelFromWeights(o.weights, o.backend, o.threads, o.precision);
      try {
        const map = labelMapping(ds, meta, o.labels);
        const pp = o.imageSize ? atCrop(meta.preprocessing, o.imageSize) : meta.preprocessing;
        const progress = makeProgress(o.progress ?? (o.json ? 'quiet' : 'auto'));
        let started = false;
        const cache = await loadOrBuildCache(ds, pp.resize, {
          dir: o.cacheDir ?? DEFAULT_CACHE_DIR, name: 'eval',
          onProgress: (d, n) => { if (!started) { progress.start(n, `caching (${pp.resize}px)`); started = true; } progress.update(d, {}); },
        });
        if (started) progress.stop();
        const w = badFilesWarning(o.data, cache.bad);
        if (w) console.error(w);
        if (cache.n === 0) throw new Error(`${o.data}: no readable images`);
        const data = { ...cache, labels: Int32Array.from(cache.labels, (l) => map[l]) };
        const loader = new BatchLoader(data, pp, { batch: o.batch, seed: 0, worker: false });
        const t0 = Date.now();
        progress.start(cache.n * (o.tenCrop ? 10 : 1), o.tenCrop ? 'eval (10 crops)' : 'eval (centre crop)');
        const r = await evaluate(model, loader, {
          tenCrop: o.tenCrop, batch: o.batch,
          onProgress: (d) => progress.update(d, { ips: (d / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(1) }),
        });
        progress.stop();
        loader.close();
        if (o.json) console.log(JSON.stringify({ top1: r.top1, top5: r.top5, images: r.images, protocol: r.protocol, backend: model.backend.name }));
        else {
          console.log(`${r.images} images, ${r.protocol === 'ten-crop' ? '10-crop' : 'centre crop'} (${pp.crop}px): top-1 ${(100 * r.top1).toFixed(2)}%  top-5 ${(100 * r.top5).toFixed(2)}%` +
            `  (error ${(100 * (1 - r.top1)).toFixed(2)}% / ${(100 * (1 - r.top5)).toFixed(2)}%)${cache.bad.length ? `, ${cache.bad.length} unreadable skipped` : ''}`);
        }
      } finally {
        disposeModel(model);
      }
    });
}
