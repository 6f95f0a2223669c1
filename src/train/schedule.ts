// Learning-rate schedules. plateau is the paper's: divide by 10 when the validation error stops
// improving. All state lives in a plain object so checkpoints carry it.

export type ScheduleKind = 'plateau' | 'step' | 'cosine';

export interface ScheduleState {
  kind: ScheduleKind;
  baseLr: number;
  /** Current lr for plateau/step (cosine computes it per step). */
  lr: number;
  /** Factor applied at each drop (0.1 in the paper). */
  gamma: number;
  /** plateau: epochs without improvement before a drop. step: epochs between drops. */
  patience: number;
  stepEpochs: number;
  /** plateau: best metric so far (lower is better) and epochs since it improved. */
  best: number;
  bad: number;
  /** cosine: total training steps and the floor lr. */
  totalSteps: number;
  minLr: number;
  drops: number;
  /** Linear warm-up from lr/warmupSteps to lr over the first warmupSteps steps (0 = none). */
  warmupSteps?: number;
  /** plateau: false until the model has left chance level; epochs before that never count as stalled
   *  (a model still at ln(classes) has not plateaued, it has not started). Absent in older checkpoints = true. */
  armed?: boolean;
}

export function newSchedule(kind: ScheduleKind, baseLr: number, opts: { gamma?: number; patience?: number; stepEpochs?: number; totalSteps?: number; minLr?: number; warmupSteps?: number } = {}): ScheduleState {
  if (!(baseLr > 0)) throw new Error(`lr must be positive, got ${baseLr}`);
  if (!['plateau', 'step', 'cosine'].includes(kind)) throw new Error(`unknown schedule '${kind}' (plateau, step or cosine)`);
  return {
    kind, baseLr, lr: baseLr, gamma: opts.gamma ?? 0.1, patience: opts.patience ?? 2, stepEpochs: opts.stepEpochs ?? 30,
    best: Infinity, bad: 0, totalSteps: opts.totalSteps ?? 1, minLr: opts.minLr ?? 0, drops: 0, warmupSteps: opts.warmupSteps ?? 0, armed: false,
  };
}

/** lr for a global step (0-based). */
export function lrAt(s: ScheduleState, step: number): number {
  const w = s.warmupSteps ?? 0;
  const warm = w > 0 && step < w ? (step + 1) / w : 1;
  return warm * lrNoWarmup(s, step);
}

function lrNoWarmup(s: ScheduleState, step: number): number {
  if (s.kind !== 'cosine') return s.lr;
  const t = Math.min(1, step / Math.max(1, s.totalSteps));
  return s.minLr + (s.baseLr - s.minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** Called after each epoch (0-based index just finished) with the monitored error (lower is better) and
 *  whether the model is measurably above chance (plateau ignores stalls until it first is). */
export function epochEnd(s: ScheduleState, epoch: number, metric: number, aboveChance = true): { dropped: boolean } {
  if (s.kind === 'step') {
    const lr = s.baseLr * s.gamma ** Math.floor((epoch + 1) / s.stepEpochs);
    const dropped = lr < s.lr;
    if (dropped) s.drops++;
    s.lr = lr;
    return { dropped };
  }
  if (s.kind === 'plateau') {
    if (s.armed === false) {
      if (!aboveChance) return { dropped: false };
      s.armed = true;
    }
    if (metric < s.best - 1e-4) { s.best = metric; s.bad = 0; return { dropped: false }; }
    if (++s.bad >= s.patience) { s.lr *= s.gamma; s.bad = 0; s.drops++; return { dropped: true }; }
  }
  return { dropped: false };
}
