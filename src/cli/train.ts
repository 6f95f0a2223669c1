// alexnet train: train AlexNet on an image folder (paper SGD, augmentation, checkpoints, resume).
import type { Command } from 'commander';
import path from 'node:path';
import { DEFAULTS, type TrainConfig } from '../train/setup.ts';
import { train } from '../train/trainer.ts';
import { disposeModel } from '../train/infer.ts';
import { int, num, oneOf } from '../train/cli-opts.ts';

export function register(program: Command): void {
  program
    .command('train')
    .description('train on an ImageFolder (root/<class>/*.jpg): paper SGD + augmentation, checkpoints, --resume')
    .option('--data <dir>', 'training images, one folder per class (or a shard folder from `alexnet data pack`, streamed)')
    .option('--val <dir>', 'validation images (same class folders); top-1/top-5 after every epoch')
    .option('--variant <name>', 'paper | torchvision', oneOf('--variant', ['paper', 'torchvision'] as const))
    .option('--image-size <s>', 'crop side (default 227 paper, 224 torchvision); images are cached at round(S*256/224)', int('--image-size'))
    .option('--epochs <n>', `epochs (default ${DEFAULTS.epochs})`, int('--epochs'))
    .option('--batch <n>', `batch size (default ${DEFAULTS.batch})`, int('--batch'))
    .option('--lr <x>', `initial learning rate (default ${DEFAULTS.lr})`, num('--lr'))
    .option('--momentum <x>', `SGD momentum (default ${DEFAULTS.momentum})`, num('--momentum'))
    .option('--weight-decay <x>', `weight decay (default ${DEFAULTS.weightDecay})`, num('--weight-decay'))
    .option('--schedule <s>', 'plateau (paper: lr/10 when val error stalls) | step | cosine', oneOf('--schedule', ['plateau', 'step', 'cosine'] as const))
    .option('--warmup-steps <n>', 'linear lr warm-up over the first N steps (default 0)', int('--warmup-steps', 0))
    .option('--patience <n>', `plateau: epochs without improvement before lr/10 (default ${DEFAULTS.patience})`, int('--patience'))
    .option('--step-epochs <n>', `step: epochs between lr/10 drops (default ${DEFAULTS.stepEpochs})`, int('--step-epochs'))
    .option('--out <dir>', 'run folder (checkpoints, log.jsonl, curves.svg, weights.safetensors)')
    .option('--resume <dir>', 'continue a run from its newest good checkpoint')
    .option('--seed <n>', 'seed for init, shuffling, crops and dropout (default 0)', int('--seed', 0))
    .option('--backend <name>', 'auto | native | ref', oneOf('--backend', ['auto', 'native', 'ref'] as const))
    .option('--threads <n>', 'kernel threads (native backend)', int('--threads'))
    .option('--labels <file>', 'synset list ("n01440764 tench, ...") giving readable class names')
    .option('--limit-per-class <n>', 'use only the first N images of each class', int('--limit-per-class'))
    .option('--val-limit-per-class <n>', 'the same for --val', int('--val-limit-per-class'))
    .option('--init <weights>', 'start from these weights (safetensors, .pth or ONNX)')
    .option('--reset-classifier', 'with --init: new fc8 for this data set\'s class count (fine-tuning)')
    .option('--cache-dir <dir>', 'preprocessing cache (default .cache/alexnet)')
    .option('--checkpoint-minutes <m>', `also checkpoint every M minutes (default ${DEFAULTS.checkpointMinutes})`, num('--checkpoint-minutes'))
    .option('--keep <n>', `checkpoints kept (default ${DEFAULTS.keepCheckpoints})`, int('--keep'))
    .option('--lighting <sigma>', `PCA lighting noise (paper 0.1; 0 = off)`, num('--lighting'))
    .option('--mean <how>', 'channel | pixel (the paper\'s mean image)', oneOf('--mean', ['channel', 'pixel'] as const))
    .option('--stats <file>', 'mean + PCA from `alexnet data stats` instead of ImageNet\'s')
    .option('--init-scheme <s>', 'model (the variant\'s own init) | he | lsuv (He + unit-variance layer scaling on a data batch; starts much faster)', oneOf('--init-scheme', ['model', 'he', 'lsuv'] as const))
    .option('--workers <n>', 'decode worker threads', int('--workers'))
    .option('--width-scale <x>', 'reduced-width model (tests, demos)', num('--width-scale'))
    .option('--hidden <n>', 'fc6/fc7 width (default 4096)', int('--hidden'))
    .option('--max-steps <n>', 'stop (with a checkpoint) after N steps in total', int('--max-steps', 0))
    .option('--progress <mode>', 'auto | bar | lines | quiet', oneOf('--progress', ['auto', 'bar', 'lines', 'quiet'] as const))
    .action(async (o: Record<string, unknown>) => {
      const pick = <K extends keyof TrainConfig>(k: K, flag = k as string): TrainConfig[K] | undefined => o[flag] as TrainConfig[K] | undefined;
      let cfg: TrainConfig;
      if (o.resume) {
        cfg = { ...DEFAULTS, data: '', variant: 'paper', out: o.resume as string };
      } else {
        if (!o.data) throw new Error('--data DIR is required (or --resume RUN_DIR)');
        if (!o.variant) throw new Error('--variant paper|torchvision is required');
        if (o.resetClassifier && !o.init) throw new Error('--reset-classifier needs --init WEIGHTS');
        const out = (o.out as string) ?? path.join('runs', `${o.variant}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
        cfg = { ...DEFAULTS, data: o.data as string, variant: o.variant as TrainConfig['variant'], out };
        for (const k of ['val', 'imageSize', 'epochs', 'batch', 'lr', 'momentum', 'weightDecay', 'schedule', 'patience', 'stepEpochs', 'seed', 'backend', 'threads',
          'labels', 'limitPerClass', 'valLimitPerClass', 'init', 'resetClassifier', 'cacheDir', 'checkpointMinutes', 'lighting', 'mean', 'stats', 'workers', 'widthScale', 'hidden', 'initScheme', 'warmupSteps'] as const) {
          const v = pick(k);
          if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
        }
        if (o.keep !== undefined) cfg.keepCheckpoints = o.keep as number;
      }
      const r = await train(cfg, {
        progress: o.progress as 'auto' | undefined, maxSteps: o.maxSteps as number | undefined, handleSigint: true,
        resume: o.resume as string | undefined,
        resumeOverrides: { epochs: o.epochs as number | undefined, checkpointMinutes: o.checkpointMinutes as number | undefined, threads: o.threads as number | undefined, backend: o.backend as TrainConfig['backend'] | undefined },
      });
      const last = r.history.epochs.at(-1);
      if (!r.interrupted) {
        console.log(`done: ${r.step} steps` + (last?.valTop1 !== undefined ? `, val top-1 ${(100 * last.valTop1).toFixed(2)}% top-5 ${(100 * last.valTop5!).toFixed(2)}%` : '') +
          `\nweights: ${r.weights}\ncurves:  ${path.join(r.runDir, 'curves.svg')}\nlog:     ${path.join(r.runDir, 'log.jsonl')}`);
      }
      if (r.interrupted) console.error(`stopped at step ${r.step}; checkpoint saved. Continue with: alexnet train --resume ${r.runDir}`);
      disposeModel(r.model);
      if (r.stoppedBy === 'signal') process.exitCode = 130;
    });
}
