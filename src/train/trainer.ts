// The training loop: paper SGD, seeded batches, per-epoch validation, checkpoints (every epoch,
// every N minutes, on Ctrl-C), exact resume, JSONL log and SVG curves in the run folder.
// Order of a start: everything checkable without decoding (flags, folders, class count, --init) first,
// then the run folder's lock, then caching; a start that fails before writing anything removes the
// folder it created. Every file goes through the one atomic writer; a full disk ends the run with
// NoSpaceError (one line, non-zero exit) and the previous checkpoint untouched.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { backendPrecision } from '../backend/native/precision.ts';
import type { Model, WeightsMeta } from '../model/types.ts';
import { Sgd } from '../optim/sgd.ts';
import { BatchLoader } from '../data/loader.ts';
import { ShardLoader } from '../data/shard-stream.ts';
import { dropoutSeed } from '../util/rng.ts';
import { latestCheckpoint, listCheckpoints, saveCheckpoint } from './checkpoint.ts';
import { evaluate } from './evaluate.ts';
import { curvesSvg, type EpochRecord, type History } from './plot.ts';
import { makeProgress, type Progress } from './progress.ts';
import { epochEnd, lrAt, newSchedule, type ScheduleState } from './schedule.ts';
import { MEAN_IMAGE_FILE, checkAndScan, loadInit, prepareData, prepareModel, type Folders, type InitWeights, type Prepared, type TrainConfig } from './setup.ts';
import { resolveSettings, settingsOf } from './recipe.ts';
import { RunLock, RunLog, removeIfUnused } from './run-folder.ts';
import { NoSpaceError, cleanStaleTemps, freeBytes, writeAtomicSync } from '../util/atomic-write.ts';
import { LocalCommunicator, type Communicator } from './comm.ts';
import { DataParallel, broadcastWeights, checkGlobalBatch, shareValidation } from './dist.ts';

export interface RunOptions {
  progress?: 'auto' | 'bar' | 'lines' | 'quiet';
  /** Stop (with a checkpoint, as Ctrl-C would) once this many global steps are done. */
  maxSteps?: number;
  /** Resume from the newest good checkpoint in this run folder. */
  resume?: string;
  /** Overrides allowed on resume (e.g. more epochs). */
  resumeOverrides?: Partial<Pick<TrainConfig, 'epochs' | 'checkpointMinutes' | 'threads' | 'backend' | 'precision'>>;
  /** Install a SIGINT handler that checkpoints and stops (CLI: true). */
  handleSigint?: boolean;
  /** Data-parallel: this process's communicator (default: one process). Rank 0 writes the run folder;
   *  the other ranks read it (resume) and write nothing. */
  comm?: Communicator;
}

export interface TrainResult {
  runDir: string;
  weights?: string;
  interrupted: boolean;
  /** Why a run stopped early: Ctrl-C or --max-steps. */
  stoppedBy?: 'signal' | 'max-steps';
  step: number;
  /** Loss of every step run in THIS call, by global step. */
  losses: [number, number][];
  history: History;
  classNames: string[];
  model: Model;
  data: Prepared;
}

interface CkptState {
  version: 1;
  config: TrainConfig;
  epoch: number;
  k: number;
  step: number;
  epochLossSum: number;
  epochCount: number;
  schedule: ScheduleState;
  history: History;
  classes: string[];
  classNames: string[];
  rng: { seed: number; epoch: number; k: number; step: number; note: string };
  seconds: number;
  /** Ranks that trained it (absent: 1). */
  worldSize?: number;
}

export async function train(cfgIn: TrainConfig, opts: RunOptions = {}): Promise<TrainResult> {
  const comm = opts.comm ?? new LocalCommunicator();
  if (comm.rank !== 0) return trainFollower(cfgIn, { ...opts, comm });
  const progress: Progress = makeProgress(opts.progress);
  let cfg: TrainConfig = { ...cfgIn };
  let ck = null as ReturnType<typeof latestCheckpoint<CkptState>>;
  let lock: RunLock | undefined;
  let createdDir = false;
  try {
    if (opts.resume) {
      if (!existsSync(opts.resume)) throw new Error(`--resume: run folder not found: ${opts.resume}`);
      lock = RunLock.acquire(opts.resume); // before touching anything a live trainer may be writing
      cleanStaleTemps(opts.resume);
      ck = latestCheckpoint<CkptState>(opts.resume, (m) => progress.log(m));
      if (!ck) throw new Error(`--resume: no usable checkpoint in ${opts.resume}`);
      cfg = { ...BEFORE_RECIPES, ...ck.state.config, ...stripUndef(opts.resumeOverrides ?? {}), out: opts.resume };
      checkWorldSize(ck.state.worldSize, comm.size);
    }
    checkGlobalBatch(cfg.batch, comm.size);
    const folders = checkAndScan(cfg);
    const init = ck ? undefined : await loadInit(cfg, folders.train.classes.length);
    if (!lock) {
      createdDir = !existsSync(cfg.out);
      lock = RunLock.acquire(cfg.out);
      if (listCheckpoints(cfg.out).length) throw new Error(`${cfg.out} already holds checkpoints: continue it with --resume ${cfg.out}, or choose another --out`);
      cleanStaleTemps(cfg.out); // e.g. a weights temp left by a kill -9 during the final write
    }
    return await run(cfg, ck, folders, init, progress, { ...opts, comm });
  } catch (e) {
    if (createdDir) { lock?.release(); removeIfUnused(cfg.out, (n) => n === MEAN_IMAGE_FILE); }
    throw e;
  } finally {
    lock?.release();
  }
}

/** Checkpoints from before recipes carry no lrFeatures/lrClassifier/warm-up/trust: they trained with these. */
const BEFORE_RECIPES = { lrFeatures: 1, lrClassifier: 1, warmupSteps: 0, patience: 2, freeze: 'none', trust: 0 } as const;

/** Ranks above 0: the same checks and the same training, reading the run folder (a resume) but never
 *  locking or writing it. */
async function trainFollower(cfgIn: TrainConfig, opts: RunOptions & { comm: Communicator }): Promise<TrainResult> {
  let cfg: TrainConfig = { ...cfgIn };
  let ck = null as ReturnType<typeof latestCheckpoint<CkptState>>;
  if (opts.resume) {
    ck = latestCheckpoint<CkptState>(opts.resume, () => undefined);
    if (!ck) throw new Error(`--resume: no usable checkpoint in ${opts.resume} (rank ${opts.comm.rank} reads the run folder too: it must be on a file system every rank sees)`);
    cfg = { ...BEFORE_RECIPES, ...ck.state.config, ...stripUndef(opts.resumeOverrides ?? {}), out: opts.resume };
    checkWorldSize(ck.state.worldSize, opts.comm.size);
  }
  checkGlobalBatch(cfg.batch, opts.comm.size);
  const folders = checkAndScan(cfg);
  const init = ck ? undefined : await loadInit(cfg, folders.train.classes.length);
  return run(cfg, ck, folders, init, makeProgress('quiet'), opts);
}

function checkWorldSize(trained: number | undefined, size: number): void {
  if ((trained ?? 1) !== size) {
    throw new Error(`--resume: the run was trained with ${trained ?? 1} rank(s) but this job has ${size}; resume it with the same world size (mpirun -np ${trained ?? 1})`);
  }
}

async function run(cfgIn: TrainConfig, ck: ReturnType<typeof latestCheckpoint<CkptState>>, folders: Folders, init: InitWeights | undefined, progress: Progress, opts: RunOptions): Promise<TrainResult> {
  let cfg = cfgIn;
  const dir = cfg.out;
  const comm = opts.comm ?? new LocalCommunicator();
  const lead = comm.rank === 0, parallel = comm.size > 1;
  const runLog = lead ? new RunLog(path.join(dir, 'log.jsonl')) : undefined;
  const log = (rec: object) => runLog?.append(rec);

  // one rank decodes the cache while the others wait, then they read it (not N decoders racing)
  if (parallel && !lead) await comm.barrier();
  const data = await prepareData(cfg, progress, folders, lead);
  if (parallel && lead) await comm.barrier();
  if (ck && JSON.stringify(ck.state.classes) !== JSON.stringify(data.classes)) {
    throw new Error(`--resume: the data's classes (${data.classes.length}) differ from the checkpoint's (${ck.state.classes.length})`);
  }
  const part = parallel ? { rank: comm.rank, size: comm.size } : undefined;
  const loader = data.shards
    ? new ShardLoader(data.shards, data.pp, { batch: cfg.batch, seed: cfg.seed, lighting: data.lighting, minScale: cfg.cropScale, workers: cfg.workers, part })
    : new BatchLoader(data.train, data.pp, { batch: cfg.batch, seed: cfg.seed, lighting: data.lighting, minScale: cfg.cropScale, meanImage: data.meanImg, worker: true, part });
  // lsuv measures activations on a fixed batch of (unaugmented) training images
  const initBatch = async () => {
    const n = Math.min(data.train.n, Math.max(cfg.batch, 64));
    const idx = Int32Array.from({ length: n }, (_, i) => Math.floor((i * data.train.n) / n)); // spread over all classes
    const b = await loader.viewBatch(idx, 'center');
    return { x: b.x, shape: [b.n, 3, data.pp.crop, data.pp.crop] as [number, number, number, number] };
  };
  const spe = loader.stepsPerEpoch;
  cfg = resolveSettings(cfg, spe); // warm-up, patience, fine-tuning rates: the values the log and checkpoints record
  const model = await prepareModel(ck ? { ...cfg, init: undefined, initScheme: 'model' } : cfg, data.classes.length, progress, initBatch, init);
  const sgd = new Sgd(model, { momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  const valLoader = data.val && lead ? new BatchLoader(data.val, data.pp, { batch: cfg.batch, seed: cfg.seed, meanImage: data.meanImg, worker: false }) : undefined;
  const lrFeatures = cfg.freeze === 'features' ? 0 : cfg.lrFeatures ?? 1, lrClassifier = cfg.lrClassifier ?? 1;
  const paramLr = lrFeatures !== 1 || lrClassifier !== 1 ? { features: lrFeatures, classifier: lrClassifier } : undefined;
  const K = data.classes.length;

  let epoch = 0, k = 0, step = 0, epochLossSum = 0, epochCount = 0, secondsBefore = 0;
  let sched = newSchedule(cfg.schedule, cfg.lr, { patience: cfg.patience, stepEpochs: cfg.stepEpochs, totalSteps: cfg.epochs * spe, warmupSteps: cfg.warmupSteps });
  let history: History = { steps: [], epochs: [] };
  if (ck) {
    const s = ck.state;
    ({ epoch, k, step, epochLossSum, epochCount } = s);
    sched = { ...s.schedule, totalSteps: cfg.epochs * spe };
    history = s.history;
    secondsBefore = s.seconds;
    await model.setArenas({ params: ck.params });
    sgd.setVelocity(ck.momentum);
    // the log never holds two versions of one step: records after the checkpoint are re-run, so cut them first
    const superseded = runLog?.truncateToStep(step) ?? 0;
    log({ type: 'resume', from: path.basename(ck.file), epoch, step, supersededRecords: superseded, settings: settingsOf(cfg) });
    progress.log(`resumed from ${path.basename(ck.file)} at epoch ${epoch + 1}, step ${step}`);
  } else {
    log({ type: 'start', settings: settingsOf(cfg), config: cfg, classes: data.classes, classNames: data.classNames, images: data.train.n, valImages: data.val?.n ?? 0, backend: model.backend.name, precision: backendPrecision(model.backend), params: model.paramCount, worldSize: comm.size, engine: comm.engine });
  }
  if (parallel) await broadcastWeights(model, comm); // every rank steps from rank 0's weights
  const dp = parallel ? new DataParallel(model, comm) : undefined;
  progress.log(`training ${cfg.variant} (${model.paramCount.toLocaleString()} params, ${model.backend.name} backend${backendPrecision(model.backend) === 'bf16' ? ', bf16 conv/fc' : ''}) on ${data.train.n} images, ${data.classes.length} classes, ` +
    `${data.pp.crop}px crops, batch ${cfg.batch}${parallel ? ` (${cfg.batch / comm.size} on each of ${comm.size} ranks, ${comm.engine})` : ''}, ${spe} steps/epoch -> ${dir}`);

  const meta: WeightsMeta = { variant: cfg.variant, classes: data.classes.length, classNames: data.classNames, preprocessing: data.pp, widthScale: cfg.widthScale, hidden: cfg.hidden };
  const t0 = Date.now();
  let lastCkpt = Date.now();
  const seconds = () => secondsBefore + (Date.now() - t0) / 1000;
  const checkpoint = async (why: string) => {
    if (!lead) return '';
    const [params, momentum] = await Promise.all([model.weights.read(), sgd.velocity()]);
    const state: CkptState = {
      version: 1, config: cfg, epoch, k, step, epochLossSum, epochCount, schedule: sched, history, classes: data.classes, classNames: data.classNames,
      rng: { seed: cfg.seed, epoch, k, step, note: 'counter-based: shuffles/crops/dropout derive from (seed, epoch, position, step)' }, seconds: seconds(),
      ...(parallel ? { worldSize: comm.size } : {}),
    };
    const f = saveCheckpoint(dir, step, state, params, momentum, cfg.keepCheckpoints);
    lastCkpt = Date.now();
    log({ type: 'checkpoint', why, file: path.basename(f), epoch, k, step });
    return f;
  };
  const writeCurves = () => lead && writeAtomicSync(path.join(dir, 'curves.svg'), Buffer.from(curvesSvg(history, `AlexNet (${cfg.variant})`), 'utf8'));
  const writeArtifacts = async () => {
    if (!lead) return undefined;
    writeCurves();
    const { saveWeights } = await import('../io/weights.ts');
    const f = path.join(dir, 'weights.safetensors');
    try {
      await saveWeights(f, await model.stateDict(), meta);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new NoSpaceError(dir, 4 * model.paramCount, freeBytes(dir));
      throw e;
    }
    return f;
  };

  // data-parallel: a signal on one rank is a request that the next step's allreduce agrees on (a rank
  // breaking out alone would leave the others waiting in a collective)
  let stop = false, bySignal = false, wantStop = false;
  const onSigint = () => {
    if (stop || wantStop) process.exit(130);
    if (dp) wantStop = true; else stop = true;
    bySignal = true;
    progress.log('interrupt: finishing this step, then saving a checkpoint (Ctrl-C again to quit at once)');
  };
  if (opts.handleSigint) process.on('SIGINT', onSigint);
  const losses: [number, number][] = [];
  const c = data.pp.crop;
  try {
    for (; epoch < cfg.epochs && !stop; epoch++, k = 0) {
      progress.start(spe, `epoch ${epoch + 1}/${cfg.epochs}`);
      progress.update(k, {});
      let tImg = 0, tSec = 0;
      while (k < spe) {
        if (stop || (opts.maxSteps !== undefined && step >= opts.maxSteps)) { stop = true; break; }
        const ts = Date.now();
        const b = await loader.get(epoch, k);
        const lr = lrAt(sched, step);
        let loss: number, comms: object | undefined;
        if (dp) {
          const r = await dp.step(b, c, { dropoutSeed: dropoutSeed(cfg.seed, step), paramLr, stop: wantStop });
          sgd.step(lr, { paramLr, trust: cfg.trust });
          loss = r.loss; stop = r.stop; // every rank stops at the same step
          comms = { stepS: r.seconds, backwardS: r.backwardSeconds, exposedCommS: r.exposedCommSeconds };
        } else {
          const lossP = model.backward(b.x, [b.n, 3, c, c], b.labels, { dropoutSeed: dropoutSeed(cfg.seed, step), paramLr });
          sgd.step(lr, { paramLr, trust: cfg.trust });
          loss = await lossP;
        }
        const n = b.global?.size ?? b.n;
        if (!Number.isFinite(loss)) {
          await checkpoint('diverged').catch(() => undefined);
          throw new Error(`loss is ${loss} at step ${step} (epoch ${epoch + 1}): training diverged; lower --lr (now ${lr})`);
        }
        const dt = (Date.now() - ts) / 1000;
        tImg += n; tSec += dt;
        epochLossSum += loss * n; epochCount += n;
        losses.push([step, loss]);
        history.steps.push([step, Math.round(loss * 1e5) / 1e5]);
        step++; k++;
        log({ type: 'step', epoch, step, loss, lr, ips: n / dt, ...(comms ? { comm: comms } : {}) });
        progress.update(k, { ips: (tImg / Math.max(1e-9, tSec)).toFixed(1), loss: loss.toFixed(4), lr: lr.toPrecision(3) });
        if (Date.now() - lastCkpt > cfg.checkpointMinutes * 60000) await checkpoint('timer');
      }
      progress.stop();
      if (stop) break;
      // epoch finished: validate, schedule, checkpoint, curves
      const trainLoss = epochLossSum / Math.max(1, epochCount);
      let v: { top1: number; top5: number } | undefined;
      if (valLoader) v = await evaluate(model, valLoader, { batch: cfg.batch });
      if (parallel) v = await shareValidation(comm, v); // rank 0 validates; every rank's schedule decides alike
      const lr = lrAt(sched, step - 1);
      const { dropped } = epochEnd(sched, epoch, v ? 1 - v.top1 : trainLoss, aboveChance(K, v?.top1, data.val?.n ?? 0, trainLoss));
      const rec: EpochRecord = { epoch, step, trainLoss, valTop1: v?.top1, valTop5: v?.top5, lr, seconds: seconds(), imagesPerSec: tImg / Math.max(1e-9, tSec) };
      history.epochs.push(rec);
      log({ type: 'epoch', ...rec, lrDropped: dropped, nextLr: lrAt(sched, step), ...(loader instanceof ShardLoader ? { decodeImgPerSPerCore: loader.decodeRate() } : {}) });
      progress.log(`epoch ${epoch + 1}/${cfg.epochs}: train loss ${trainLoss.toFixed(4)}` +
        (v ? `, val top-1 ${(100 * v.top1).toFixed(2)}% top-5 ${(100 * v.top5).toFixed(2)}%` : '') +
        `, ${rec.imagesPerSec!.toFixed(1)} img/s${dropped ? `, lr -> ${lrAt(sched, step).toPrecision(3)}` : ''}`);
      epochLossSum = 0; epochCount = 0;
      epoch++; k = 0; // the checkpoint records the next position
      await checkpoint('epoch');
      await writeArtifacts();
      epoch--; // the for-loop increments
    }
    if (stop) {
      await checkpoint('interrupt');
      writeCurves();
      log({ type: 'interrupt', epoch, step });
      return { runDir: dir, interrupted: true, stoppedBy: bySignal ? 'signal' : 'max-steps', step, losses, history, classNames: data.classNames, model, data };
    }
    const weights = await writeArtifacts();
    log({ type: 'done', step, weights: path.basename(weights ?? ''), seconds: seconds() });
    return { runDir: dir, weights, interrupted: false, step, losses, history, classNames: data.classNames, model, data };
  } finally {
    if (opts.handleSigint) process.off('SIGINT', onSigint);
    loader.close();
    valLoader?.close();
    dp?.dispose();
  }
}

/** Whether accuracy is measurably above 1/K: two standard errors of a guesser on nVal images (at least
 *  2 points); without validation data, a training loss clearly below ln K. */
export function aboveChance(K: number, top1: number | undefined, nVal: number, trainLoss: number): boolean {
  if (top1 === undefined || nVal === 0) return trainLoss < 0.9 * Math.log(K);
  const p = 1 / K;
  return top1 > p + Math.max(0.02, 2 * Math.sqrt((p * (1 - p)) / nVal));
}

function stripUndef<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
