// alexnet train: train AlexNet on an image folder (paper SGD, augmentation, checkpoints, resume).
import type { Command } from 'commander';
import path from 'node:path';
import type { TrainConfig } from '../train/setup.ts';
import { checkFile, checkWeights } from './errors.ts';
import { int, num, choice, BACKENDS, PRECISION_CHOICES, PRECISION_HELP, VARIANTS, PROGRESS } from './cli-opts.ts';

export function declare(program: Command): Command {
  return program.command('train')
    .description('train on an ImageFolder (root/<class>/*.jpg): paper SGD + augmentation, checkpoints, --resume');
}

export async function configure(cmd: Command): Promise<void> {
  // imported here, not at the top, so `alexnet --help` lists the command without loading the training code
  const [{ MAX_IMAGE_SIZE, recipeDefaults }, { RECIPES, RECIPE_HELP, RECIPE_NAMES }] = await Promise.all([import('../train/setup.ts'), import('../train/recipe.ts')]);
  cmd
    .addHelpText('after', `
Recipes fill every setting you do not give (explicit flags win; the run log's start record lists them all):
  default  LSUV init (He, then each layer scaled to unit output variance on a real batch), lr 0.01 with one
           epoch of linear warm-up and cosine decay to 0, layer-wise rates (LARS, --trust 0.2: each weight
           tensor's step is a set fraction of its norm), batch 128, momentum 0.9, weight decay 5e-4, random
           crops + flips + PCA lighting, unit-variance inputs on both variants, 90 epochs. Why: AlexNet
           has no batch norm; with its own initialisation the loss sits at ln(classes) for epochs on small
           data while a plateau schedule cuts the rate. LSUV scales weights to their inputs, so the inputs
           must be unit-scale (the paper's 0..255 made conv1's steps thousands of times too large). With one
           rate, fc8 moves 10-100x faster than the conv layers relative to its size; LARS evens that out.
  paper    the 2012 paper exactly: N(0, 0.01) weights, bias 1 in conv2/4/5 and fc6/7, batch 128, lr 0.01
           divided by 10 when validation error stops improving (patience max(2, epochs/15) epochs, counted
           only once the model is above chance), 90 epochs, crops + flips + PCA lighting, mean image (0..255 units).
Fine-tuning: --init W --reset-classifier trains a new fc8 at --lr and the conv layers at 0.1 x --lr
(--lr-features); --freeze features trains only the classifier (fc6-fc8).`)
    .addOption(choice('--recipe <name>', RECIPE_HELP, RECIPE_NAMES))
    .option('--data <dir>', 'training images, one folder per class (or a shard folder from `alexnet data pack`, streamed)')
    .option('--val <dir>', 'validation images (same class folders); top-1/top-5 after every epoch')
    .addOption(choice('--variant <name>', 'architecture', VARIANTS))
    .option('--image-size <s>', `crop side, up to ${MAX_IMAGE_SIZE} (default 227 paper, 224 torchvision); images are cached at round(S*256/224)`, int('--image-size'))
    .option('--epochs <n>', `epochs (default ${RECIPES.default.epochs})`, int('--epochs'))
    .option('--batch <n>', `batch size (default ${RECIPES.default.batch})`, int('--batch'))
    .option('--lr <x>', `initial learning rate (default ${RECIPES.default.lr})`, num('--lr'))
    .option('--momentum <x>', `SGD momentum (default ${RECIPES.default.momentum})`, num('--momentum'))
    .option('--weight-decay <x>', `weight decay (default ${RECIPES.default.weightDecay})`, num('--weight-decay'))
    .addOption(choice('--schedule <s>', 'cosine (default recipe) | plateau (paper: lr/10 when val error stalls) | step', ['plateau', 'step', 'cosine']))
    .option('--warmup-steps <n>', 'linear lr warm-up over the first N steps (default recipe: one epoch; paper: 0)', int('--warmup-steps', 0))
    .option('--patience <n>', 'plateau: epochs without improvement before lr/10 (default max(2, epochs/15))', int('--patience'))
    .option('--step-epochs <n>', `step: epochs between lr/10 drops (default ${RECIPES.default.stepEpochs})`, int('--step-epochs'))
    .option('--out <dir>', 'run folder (checkpoints, log.jsonl, curves.svg, weights.safetensors)')
    .option('--resume <dir>', 'continue a run from its newest good checkpoint')
    .option('--seed <n>', 'seed for init, shuffling, crops and dropout (default 0)', int('--seed', 0))
    .addOption(choice('--backend <name>', 'compute backend', BACKENDS))
    .option('--threads <n>', 'kernel threads (native backend)', int('--threads'))
    .addOption(choice('--precision <p>', `${PRECISION_HELP}; default fp32`, PRECISION_CHOICES))
    .option('--labels <file>', 'synset list ("n01440764 tench, ...") giving readable class names')
    .option('--limit-per-class <n>', 'use only the first N images of each class', int('--limit-per-class'))
    .option('--val-limit-per-class <n>', 'the same for --val', int('--val-limit-per-class'))
    .option('--init <weights>', 'start from these weights (safetensors, .pth or ONNX)')
    .option('--reset-classifier', 'with --init: new fc8 for this data set\'s class count (fine-tuning)')
    .option('--lr-features <x>', 'lr multiplier for the conv layers (default 0.1 with --init --reset-classifier, else 1)', num('--lr-features'))
    .option('--lr-classifier <x>', 'lr multiplier for fc6-fc8 (default 1; 0.1 calms the first-epoch loss spikes of LSUV-initialised wide fc layers)', num('--lr-classifier'))
    .option('--trust <x>', `layer-wise rates (LARS): each weight tensor steps at lr * trust * |w| / (|dw| + wd * |w|); 0 = one rate for all, which learns faster in a short run on a mid-sized folder (default recipe ${RECIPES.default.trust}, paper 0)`, num('--trust'))
    .addOption(choice('--freeze <part>', 'features: conv layers fixed (no update, no gradient work); only fc6-fc8 train | none', ['none', 'features']))
    .option('--cache-dir <dir>', 'preprocessing cache (default .cache/alexnet)')
    .option('--checkpoint-minutes <m>', `also checkpoint every M minutes (default ${recipeDefaults().checkpointMinutes})`, num('--checkpoint-minutes'))
    .option('--keep <n>', `checkpoints kept (default ${recipeDefaults().keepCheckpoints})`, int('--keep'))
    .option('--lighting <sigma>', `PCA lighting noise (paper 0.1; 0 = off)`, num('--lighting'))
    .option('--crop-scale <min>', 'scale augmentation: random regions of min..1 of the image area, resized to the crop (1 = off, the paper\'s fixed-size crops)', num('--crop-scale'))
    .addOption(choice('--mean <how>', 'channel (default recipe) | pixel (the paper\'s mean image)', ['channel', 'pixel']))
    .addOption(choice('--input-scale <how>', 'unit (default recipe: (pixel/255 - mean)/std per channel, the unit-variance inputs LSUV assumes) | variant (paper: 0..255 minus the mean, as in 2012; torchvision: unit)', ['unit', 'variant']))
    .option('--stats <file>', 'mean + PCA from `alexnet data stats` instead of ImageNet\'s')
    .addOption(choice('--init-scheme <s>', 'lsuv (default recipe: He + unit-variance layer scaling on a data batch) | model (the variant\'s own init; paper recipe) | he', ['model', 'he', 'lsuv']))
    .option('--workers <n>', 'decode worker threads', int('--workers'))
    .option('--width-scale <x>', 'reduced-width model (tests, demos)', num('--width-scale'))
    .option('--hidden <n>', 'fc6/fc7 width (default 4096)', int('--hidden'))
    .option('--max-steps <n>', 'stop (with a checkpoint) after N steps in total', int('--max-steps', 0))
    .addOption(choice('--progress <mode>', 'progress display', PROGRESS))
    .action(async (o: Record<string, unknown>) => {
      const pick = <K extends keyof TrainConfig>(k: K, flag = k as string): TrainConfig[K] | undefined => o[flag] as TrainConfig[K] | undefined;
      let cfg: TrainConfig;
      if (o.resume) {
        cfg = { ...recipeDefaults(), data: '', variant: 'paper', out: o.resume as string };
      } else {
        if (!o.data) throw new Error('--data DIR is required (or --resume RUN_DIR)');
        if (!o.variant) throw new Error('--variant paper|torchvision is required');
        if (o.resetClassifier && !o.init) throw new Error('--reset-classifier needs --init WEIGHTS');
        if (o.freeze === 'features' && !o.init) throw new Error('--freeze features needs --init WEIGHTS (frozen random conv layers learn nothing)');
        for (const [flag, what] of [['init', 'weights file'], ['labels', 'labels file'], ['stats', 'stats file']] as const) if (o[flag]) (flag === 'init' ? checkWeights : checkFile)(o[flag] as string, `--${flag} ${what}`);
        const out = (o.out as string) ?? path.join('runs', `${o.variant}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
        cfg = { ...recipeDefaults(o.recipe as TrainConfig['recipe']), data: o.data as string, variant: o.variant as TrainConfig['variant'], out };
        for (const k of ['val', 'imageSize', 'epochs', 'batch', 'lr', 'momentum', 'weightDecay', 'schedule', 'patience', 'stepEpochs', 'seed', 'backend', 'threads', 'precision',
          'labels', 'limitPerClass', 'valLimitPerClass', 'init', 'resetClassifier', 'cacheDir', 'checkpointMinutes', 'lighting', 'cropScale', 'mean', 'inputScale', 'stats', 'workers', 'widthScale', 'hidden', 'initScheme', 'warmupSteps', 'lrFeatures', 'lrClassifier', 'freeze', 'trust'] as const) {
          const v = pick(k);
          if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
        }
        if (o.keep !== undefined) cfg.keepCheckpoints = o.keep as number;
      }
      const [{ train }, { disposeModel }, { createCommunicator }] = await Promise.all([import('../train/trainer.ts'), import('./infer.ts'), import('../train/comm.ts')]);
      // under mpirun / srun / a RANK+WORLD_SIZE launcher: one rank of a data-parallel job
      const comm = await createCommunicator();
      const r = await train(cfg, {
        comm, progress: o.progress as 'auto' | undefined, maxSteps: o.maxSteps as number | undefined, handleSigint: true,
        resume: o.resume as string | undefined,
        resumeOverrides: { epochs: o.epochs as number | undefined, checkpointMinutes: o.checkpointMinutes as number | undefined, threads: o.threads as number | undefined, backend: o.backend as TrainConfig['backend'] | undefined, precision: o.precision as TrainConfig['precision'] },
      });
      await comm.close();
      const last = r.history.epochs.at(-1);
      if (comm.rank !== 0) { disposeModel(r.model); return; }
      if (!r.interrupted) {
        console.log(`done: ${r.step} steps` + (last?.valTop1 !== undefined ? `, val top-1 ${(100 * last.valTop1).toFixed(2)}% top-5 ${(100 * last.valTop5!).toFixed(2)}%` : '') +
          `\nweights: ${r.weights}\ncurves:  ${path.join(r.runDir, 'curves.svg')}\nlog:     ${path.join(r.runDir, 'log.jsonl')}`);
      }
      if (r.interrupted) console.error(`stopped at step ${r.step}; checkpoint saved. Continue with: alexnet train --resume ${r.runDir}`);
      disposeModel(r.model);
      if (r.stoppedBy === 'signal') process.exitCode = 130;
    });
}
