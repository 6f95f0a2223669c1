// alexnet demo: the whole job on an embedded default. Trains a real AlexNet on Imagenette (or on a
// synthetic folder when no data is present) for a few minutes at reduced resolution, evaluates,
// classifies the sample photos and writes an HTML report into the run folder.
import type { Command } from 'commander';
import type { BackendName } from '../backend/index.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportPrediction } from '../train/report.ts';
import type { TrainConfig } from '../train/setup.ts';
import { int, choice, BACKENDS, PROGRESS } from './cli-opts.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = process.env.ALEXNET_SHARED_DATA ?? path.resolve(REPO, '../shared/data');

interface Opts { data?: string; out?: string; epochs?: number; imageSize?: number; limitPerClass?: number; backend: BackendName; threads?: number; progress?: 'auto' | 'bar' | 'lines' | 'quiet' }

export function declare(program: Command): Command {
  return program.command('demo')
    .description('train AlexNet on Imagenette for a few minutes, evaluate, classify the sample photos, write an HTML report');
}

export function configure(cmd: Command): void {
  cmd
    .option('--data <dir>', 'folder with train/ and val/ ImageFolders (default ../shared/data/imagenette; a synthetic one when absent)')
    .option('--out <dir>', 'run folder (default runs/demo-<time>)')
    .option('--epochs <n>', 'epochs (default 6)', int('--epochs'))
    .option('--image-size <s>', 'crop side (default 112 native, 64 ref)', int('--image-size'))
    .option('--limit-per-class <n>', 'training images per class (default 300)', int('--limit-per-class'))
    .addOption(choice('--backend <name>', 'compute backend', BACKENDS, 'auto'))
    .option('--threads <n>', 'kernel threads', int('--threads'))
    .addOption(choice('--progress <mode>', 'progress display', PROGRESS))
    .action(async (o: Opts) => runDemo(o));
}

async function runDemo(o: Opts): Promise<void> {
  const t0 = Date.now();
  // imported here, not at the top: `alexnet --help` and other commands start without sharp and the trainer
  const [{ default: sharp }, { createBackend }, { BatchLoader }, { prepareInput }, { makeSyntheticFolder }, { evaluate }, { disposeModel }, { softmaxRows, topK }, { conv1Grid, writeReport }, { DEFAULTS }, { train }] = await Promise.all([
    import('sharp'), import('../backend/index.ts'), import('../data/loader.ts'), import('../data/preprocess.ts'), import('../data/synthetic.ts'), import('../train/evaluate.ts'),
    import('./infer.ts'), import('../model/postprocess.ts'), import('../train/report.ts'), import('../train/setup.ts'), import('../train/trainer.ts'),
  ]);
  const out = path.resolve(o.out ?? path.join('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`));
  const notes: string[] = [];
  let root = o.data ?? path.join(SHARED, 'imagenette');
  const labels = path.join(SHARED, 'labels', 'imagenet_synsets.txt');
  if (!existsSync(path.join(root, 'train'))) {
    if (o.data) throw new Error(`${o.data} has no train/ folder (expected ${o.data}/train/<class>/*.jpg and ${o.data}/val/...)`);
    root = await makeSyntheticFolder(path.join(out, 'synthetic-data'));
    const msg = `${path.join(SHARED, 'imagenette')} not found: training on a SYNTHETIC folder instead, ${root} (4 classes of coloured shapes).`;
    console.log(msg);
    notes.push(msg);
  }
  // the full-size net on the ref backend would take hours: shrink it there and say so
  const probe = await createBackend(o.backend, { threads: o.threads });
  const native = probe.name !== 'ref';
  probe.dispose();
  const cfg: TrainConfig = {
    ...DEFAULTS, data: path.join(root, 'train'), val: existsSync(path.join(root, 'val')) ? path.join(root, 'val') : undefined,
    labels: existsSync(labels) && !notes.length ? labels : undefined, variant: 'torchvision', out,
    imageSize: o.imageSize ?? (native ? 112 : 64), epochs: o.epochs ?? 6, batch: 32, lr: 0.01, warmupSteps: 30, schedule: 'cosine',
    initScheme: 'lsuv', limitPerClass: o.limitPerClass ?? 300, valLimitPerClass: 40, seed: 0, backend: o.backend, threads: o.threads,
    ...(native ? {} : { widthScale: 0.5, hidden: 256 }),
  };
  if (!native) notes.push('The native backend is not built, so this demo trains a half-width AlexNet (fc6/fc7 256 wide) at 64 px on the ref backend. Build it with npm run build:addon for the real one.');
  const command = `alexnet demo${process.argv.slice(3).length ? ' ' + process.argv.slice(3).join(' ') : ''}`;
  console.log(`demo: training AlexNet (${cfg.variant}, ${cfg.imageSize}px) on ${cfg.data}, ${cfg.limitPerClass} images per class, ${cfg.epochs} epochs -> ${out}`);
  const r = await train(cfg, { progress: o.progress, handleSigint: true });
  const model = r.model;
  try {
    if (r.interrupted) throw new Error(`interrupted; resume with: alexnet train --resume ${out}`);
    const pp = r.data.pp, K = model.classes;
    // validation: centre crop with a confusion matrix, and the paper's 10 crops
    let confusion: { classNames: string[]; counts: number[][] } | undefined;
    const summary: [string, string][] = [];
    if (r.data.val) {
      const loader = new BatchLoader(r.data.val, pp, { batch: 32, seed: 0, worker: false });
      const c = await evaluate(model, loader, { batch: 32 });
      const t = await evaluate(model, loader, { batch: 32, tenCrop: true });
      loader.close();
      const counts = Array.from({ length: K }, () => new Array(K).fill(0));
      for (let i = 0; i < c.images; i++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (c.probs[i * K + k] > c.probs[i * K + best]) best = k;
        counts[r.data.val.labels[i]][best]++;
      }
      confusion = { classNames: r.classNames, counts };
      summary.push(['validation images', String(c.images)], ['top-1 (centre crop)', `${(100 * c.top1).toFixed(1)}%`], ['top-5 (centre crop)', `${(100 * c.top5).toFixed(1)}%`],
        ['top-1 (10 crops)', `${(100 * t.top1).toFixed(1)}%`], ['chance', `${(100 / K).toFixed(1)}%`]);
      console.log(`validation (${c.images} images): top-1 ${(100 * c.top1).toFixed(1)}% centre, ${(100 * t.top1).toFixed(1)}% 10-crop; top-5 ${(100 * c.top5).toFixed(1)}% (chance ${(100 / K).toFixed(1)}%)`);
    }
    const last = r.history.epochs.at(-1);
    summary.unshift(['model', `AlexNet ${cfg.variant}, ${model.paramCount.toLocaleString()} parameters, ${model.backend.name} backend`],
      ['data', `${r.data.train.n} training images, ${K} classes, ${pp.crop}px crops`], ['training', `${r.step} steps, ${(last?.seconds ?? 0).toFixed(0)} s, ${(last?.imagesPerSec ?? 0).toFixed(1)} images/s`]);
    // sample photos
    const sdir = path.join(SHARED, 'samples');
    const samples = existsSync(sdir) ? readdirSync(sdir).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort().map((f) => path.join(sdir, f)) : [];
    const predictions: ReportPrediction[] = [];
    for (const f of samples) {
      const x = await prepareInput(f, pp);
      const p = softmaxRows(await model.forward(x, [1, 3, pp.crop, pp.crop]), K);
      const top = topK(p, 5, r.classNames).map((t) => ({ className: t.className, probability: t.probability }));
      const thumb = `sample-${path.basename(f).replace(/\.[^.]+$/, '')}.jpg`;
      await sharp(f).rotate().resize(300, 300, { fit: 'inside' }).jpeg({ quality: 85 }).toFile(path.join(out, thumb));
      predictions.push({ file: f, thumb, predictions: top });
      console.log(`${path.basename(f)}: ${top.slice(0, 3).map((t) => `${t.className} ${(100 * t.probability).toFixed(1)}%`).join(', ')}`);
    }
    if (samples.length && !notes.length) notes.push(`The sample photos are classified among the ${K} training classes only (a dog that is not an English springer still gets one of these ${K} names).`);
    await conv1Grid(await model.stateDict(), path.join(out, 'conv1.png'));
    const report = path.join(out, 'report.html');
    writeReport(report, {
      title: `AlexNet demo: ${K}-class ${notes.length && notes[0].includes('SYNTHETIC') ? 'synthetic shapes' : 'Imagenette'}`,
      command, notes, summary, curvesSvg: readFileSync(path.join(out, 'curves.svg'), 'utf8'), conv1Png: 'conv1.png', confusion, predictions,
    });
    console.log(`\nreport: ${report}\nweights: ${r.weights}\n(${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
  } finally {
    disposeModel(model);
  }
}
