// alexnet quantize W --calibrate DIR -o W8: post-training static int8 quantisation (model/quantize.ts) of f32
// weights, activation scales from a few hundred calibration images (centre crops, the weights' preprocessing),
// written as an int8 safetensors file (io/quantized.ts) that load/predict/eval/serve accept.
import type { Command } from 'commander';
import type { BackendName } from '../backend/index.ts';
import type { Calibrator, CalibrationInfo } from '../model/quantize.ts';
import type { StateDict, WeightsMeta } from '../model/types.ts';
import type { ArchConfig } from '../model/spec.ts';
import { BACKENDS, PROGRESS, choice, int, num } from './cli-opts.ts';
import { checkDir, checkWeights } from './errors.ts';

/** Default calibration: the 99.99th percentile of |activation|, which ignores a few outliers. Measured on the
 *  full Imagenette val split (docs/performance.md, int8): p99.9, p99.99 and max all kept f32's top-1 exactly,
 *  p99.999 lost 0.13 points. */
export const DEFAULT_METHOD: CalibrationInfo['method'] = 'percentile';
export const DEFAULT_PERCENTILE = 99.99;

export interface CalibrateOptions { images?: number; batch?: number; backend?: BackendName; threads?: number; cacheDir?: string; progress?: 'auto' | 'bar' | 'lines' | 'quiet' }

/** Runs the f32 weights over calibration images from `dir` (about `images` of them, spread evenly over the
 *  class folders) and returns the activation statistics with the f32 weights they belong to. */
export async function calibrateFolder(weights: string, dir: string, o: CalibrateOptions = {}): Promise<{ cal: Calibrator; sd: StateDict; meta: WeightsMeta; arch: ArchConfig }> {
  const [{ loadWeights }, { scanImageFolder }, { loadOrBuildCache, badFilesWarning }, { BatchLoader }, { createModel }, { createBackend }, { Calibrator, calibrationPoints }, { normaliseArch }, { makeProgress }, { DEFAULT_CACHE_DIR }] = await Promise.all([
    import('../io/weights.ts'), import('../data/folder.ts'), import('../data/cache.ts'), import('../data/loader.ts'), import('../model/index.ts'),
    import('../backend/index.ts'), import('../model/quantize.ts'), import('../model/spec.ts'), import('../train/progress.ts'), import('../train/setup.ts'),
  ]);
  const loaded = await loadWeights(weights);
  if (loaded.quantized) throw new Error(`${weights} is already int8; quantize the f32 weights it came from`);
  const { sd, meta } = loaded;
  const arch = normaliseArch({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden });
  const images = o.images ?? 320;
  const probe = scanImageFolder(dir);
  const ds = scanImageFolder(dir, { limitPerClass: Math.max(1, Math.ceil(images / Math.max(1, probe.classes.length))) });
  const pp = meta.preprocessing;
  const progress = makeProgress(o.progress ?? 'auto');
  let started = false;
  const cache = await loadOrBuildCache(ds, pp.resize, {
    dir: o.cacheDir ?? DEFAULT_CACHE_DIR, name: 'calib',
    onProgress: (d, n) => { if (!started) { progress.start(n, `caching calibration images (${pp.resize}px)`); started = true; } progress.update(d, {}); },
  });
  if (started) progress.stop();
  const w = badFilesWarning(dir, cache.bad);
  if (w) console.error(w);
  if (cache.n === 0) throw new Error(`${dir}: no readable calibration images`);
  const be = await createBackend(o.backend ?? 'auto', { threads: o.threads });
  const model = await createModel({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden, backend: be });
  const cal = new Calibrator(calibrationPoints(arch, pp.crop));
  try {
    await model.loadStateDict(sd);
    const loader = new BatchLoader(cache, pp, { batch: o.batch ?? 32, seed: 0, worker: false });
    const t0 = Date.now();
    progress.start(cache.n, 'calibrating');
    for await (const b of loader.evalBatches('center')) {
      await cal.add(model, b.x, [b.n, 3, pp.crop, pp.crop]);
      progress.update(cal.images, { ips: (cal.images / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(1) });
    }
    progress.stop();
    loader.close();
  } finally {
    model.dispose();
    be.dispose();
  }
  return { cal, sd, meta, arch };
}

export function declare(program: Command): Command {
  return program.command('quantize')
    .description('int8 weights (per-channel weight scales, activation scales from calibration images) for fast CPU inference')
    .argument('<weights>', 'f32 weights (safetensors, .pth or ONNX)');
}

export function configure(cmd: Command): void {
  cmd
    .addHelpText('after', `
The int8 file is safetensors: I8 weights with per-output-channel scales, f32 biases, one input scale per
layer (format: src/io/quantized.ts). load/predict/eval/serve accept it; the native backend runs it with
oneDNN int8 kernels, other backends dequantize it on load (it is also the 4x smaller download).`)
    .requiredOption('--calibrate <dir>', 'calibration images, one folder per class (training images, not the validation split)')
    .requiredOption('-o, --out <file>', 'int8 weights file to write (.safetensors)')
    .option('--images <n>', 'calibration images, spread over the classes (default 320)', int('--images'))
    .addOption(choice('--method <m>', `activation range: percentile of |x| or the maximum (default ${DEFAULT_METHOD})`, ['percentile', 'max']))
    .option('--percentile <p>', `with --method percentile (default ${DEFAULT_PERCENTILE})`, num('--percentile', 50))
    .option('--batch <n>', 'calibration batch size', int('--batch'), 32)
    .addOption(choice('--backend <name>', 'backend for the f32 calibration forward', BACKENDS, 'auto'))
    .option('--threads <n>', 'kernel threads', int('--threads'))
    .option('--cache-dir <dir>', 'preprocessing cache (default .cache/alexnet)')
    .addOption(choice('--progress <mode>', 'progress display', PROGRESS))
    .action(async (weights: string, o: { calibrate: string; out: string; images?: number; method?: CalibrationInfo['method']; percentile?: number } & CalibrateOptions) => {
      checkWeights(weights);
      checkDir(o.calibrate, 'calibration folder');
      if (o.percentile !== undefined && o.percentile > 100) throw new Error(`--percentile must be at most 100, got ${o.percentile}`);
      const [{ quantizeModel }, { encodeQuantized }, { writeAtomic }, { stat }] = await Promise.all([
        import('../model/quantize.ts'), import('../io/quantized.ts'), import('../util/atomic-write.ts'), import('node:fs/promises'),
      ]);
      const { cal, sd, meta, arch } = await calibrateFolder(weights, o.calibrate, o);
      const method = o.method ?? DEFAULT_METHOD;
      const qw = quantizeModel(sd, arch, cal, method === 'percentile' ? { method, percentile: o.percentile ?? DEFAULT_PERCENTILE } : { method });
      const bytes = encodeQuantized(qw, meta);
      await writeAtomic(o.out, bytes);
      const f32 = (await stat(weights)).size;
      console.log(`int8 weights: ${o.out} (${(bytes.length / 1e6).toFixed(1)} MB, ${(f32 / bytes.length).toFixed(1)}x smaller than ${weights}), ` +
        `calibrated on ${cal.images} images (${method}${method === 'percentile' ? ` ${o.percentile ?? DEFAULT_PERCENTILE}` : ''})`);
    });
}
