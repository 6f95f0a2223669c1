// Training curves from the run's log.jsonl, polled with ?since=<byte offset> so they update live.
import { api, ApiError, type RunLog } from './api.ts';
import { drawChart, type Series } from './chart.ts';
import { h, showError, clearErrors } from './ui.ts';

const TITLE = 'Training';
const POLL_MS = 2000;
type Entry = Record<string, unknown>;

const STEP_KEYS = ['step', 'global_step', 'globalStep', 'iter', 'iteration'];
const SPLIT_KEYS = ['split', 'phase', 'type', 'kind', 'event'];
const COLORS = ['#3b5bdb', '#e8590c', '#2b8a3e', '#ae3ec9', '#c92a2a', '#0b7285'];

function num(v: unknown): number | undefined { return typeof v === 'number' && Number.isFinite(v) ? v : undefined; }

/** Turns log entries into named series on a common x axis (the training step when the log has one). */
export function toSeries(entries: Entry[]): { x: string; groups: { loss: Map<string, [number, number][]>; lr: Map<string, [number, number][]>; acc: Map<string, [number, number][]> } } {
  const hasStep = entries.some((e) => STEP_KEYS.some((k) => num(e[k]) !== undefined));
  const hasEpoch = entries.some((e) => num(e.epoch) !== undefined);
  const groups = { loss: new Map<string, [number, number][]>(), lr: new Map<string, [number, number][]>(), acc: new Map<string, [number, number][]>() };
  let lastX = 0;
  entries.forEach((e, i) => {
    const step = STEP_KEYS.map((k) => num(e[k])).find((v) => v !== undefined);
    const x = hasStep ? step ?? lastX : hasEpoch ? num(e.epoch) ?? lastX : i;
    lastX = x;
    const split = SPLIT_KEYS.map((k) => e[k]).find((v) => typeof v === 'string' && /^(val|valid|validation|eval|test|train)$/i.test(v)) as string | undefined;
    const prefix = split && /^(val|valid|validation|eval|test)$/i.test(split) ? 'val ' : '';
    for (const [k, v] of Object.entries(e)) {
      const y = num(v);
      if (y === undefined || STEP_KEYS.includes(k) || k === 'epoch') continue;
      const name = (prefix && !/val|train|test/i.test(k) ? prefix : '') + k.replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase().replace(/top ?(\d)/, 'top-$1');
      const g = /loss/i.test(k) ? groups.loss : /^(lr|learning.?rate)$/i.test(k) ? groups.lr : /top.?[15]|acc/i.test(k) ? groups.acc : undefined;
      if (!g) continue;
      if (!g.has(name)) g.set(name, []);
      g.get(name)!.push([x, y]);
    }
  });
  return { x: hasStep ? 'step' : hasEpoch ? 'epoch' : 'entry', groups };
}

export async function renderTraining(body: HTMLElement): Promise<void> {
  let log: RunLog;
  try {
    log = await api<RunLog>('/v1/run/log');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      body.replaceChildren(h('p', { class: 'muted', id: 'no-run' }, `${err.message}. For example: alexnet serve --weights runs/imagenette/weights.safetensors --run runs/imagenette`));
      return;
    }
    throw err;
  }
  const entries: Entry[] = [...log.entries];
  let offset = log.offset;
  const info = h('p', { class: 'run-info', 'aria-live': 'polite' });
  const canvases = { loss: h('canvas', { role: 'img', 'aria-label': 'Loss curve' }), lr: h('canvas', { role: 'img', 'aria-label': 'Learning rate' }), acc: h('canvas', { role: 'img', 'aria-label': 'Top-1 and top-5 accuracy' }) };
  body.replaceChildren(info, h('div', { class: 'charts' }, ...Object.values(canvases).map((c) => h('div', { class: 'chart' }, c))));

  const draw = () => {
    const { x, groups } = toSeries(entries);
    const mk = (m: Map<string, [number, number][]>, smooth = false): Series[] => [...m].flatMap(([label, points], i): Series[] => {
      const color = COLORS[i % COLORS.length], dashed = /val|test/.test(label);
      if (!smooth || points.length < 60) return [{ label, points, color, dashed }];
      // noisy per-step loss: faint raw line plus a centred moving average (no lag) on top
      const r = Math.max(2, Math.round(points.length / 60));
      const avg = points.map(([x], j): [number, number] => {
        const lo = Math.max(0, j - r), hi = Math.min(points.length - 1, j + r);
        let sum = 0;
        for (let q = lo; q <= hi; q++) sum += points[q][1];
        return [x, sum / (hi - lo + 1)];
      });
      return [{ label: `${label} (raw)`, points, color: `${color}40`, legend: false }, { label, points: avg, color, dashed }];
    });
    const acc = mk(groups.acc);
    const accMax = Math.max(0, ...acc.flatMap((s) => s.points.map((p) => p[1])));
    // one x range for all three charts, so a few validation points line up with the loss curve
    const xs = [...groups.loss.values(), ...groups.lr.values(), ...groups.acc.values()].flat().map((p) => p[0]);
    const xr = xs.length ? { xMin: xs.reduce((m, v) => Math.min(m, v), 0), xMax: xs.reduce((m, v) => Math.max(m, v), -Infinity) } : {};
    drawChart(canvases.loss, mk(groups.loss, true), { title: 'Loss', xLabel: x, ...xr });
    drawChart(canvases.lr, mk(groups.lr), { title: 'Learning rate', xLabel: x, logY: true, ...xr });
    drawChart(canvases.acc, acc, { title: 'Top-1 / top-5 accuracy', xLabel: x, ...xr, ...(accMax <= 1 ? { yMin: 0, yMax: 1, percent: true } : { yMin: 0, yMax: 100 }) });
    // the trainer's records: {type:'start', config}, {type:'step', step, loss, lr}, {type:'epoch', valTop1, valTop5}, {type:'done'}
    const start = [...entries].reverse().find((e) => e.type === 'start');
    const cfg = (start?.config ?? {}) as Record<string, unknown>;
    const epochs = entries.filter((e) => e.type === 'epoch');
    const lastEpoch = epochs.at(-1);
    const lastStep = [...entries].reverse().find((e) => num(e.step) !== undefined);
    const done = entries.some((e) => e.type === 'done');
    const parts = [`${entries.length} log entries`];
    if (typeof cfg.variant === 'string') parts.push(`${cfg.variant} variant`);
    if (num(start?.images)) parts.push(`${(start!.images as number).toLocaleString('en')} training images`);
    if (lastStep) parts.push(`step ${lastStep.step}`);
    if (epochs.length) parts.push(`${epochs.length}${num(cfg.epochs) ? ` of ${cfg.epochs}` : ''} epochs done`);
    else if (lastStep && num(lastStep.epoch) !== undefined) parts.push(`epoch ${lastStep.epoch}`);
    if (lastEpoch && num(lastEpoch.valTop1) !== undefined) parts.push(`val top-1 ${(100 * (lastEpoch.valTop1 as number)).toFixed(1)}%, top-5 ${(100 * (lastEpoch.valTop5 as number)).toFixed(1)}%`);
    if (!log.exists) parts.push('waiting for log.jsonl');
    info.replaceChildren(h('strong', {}, `Run ${log.run}`), ` · ${parts.join(' · ')}`, done ? h('span', { class: 'live done' }, 'finished') : h('span', { class: 'live' }, 'live'));
  };
  draw();
  let timer = 0;
  const poll = async () => {
    try {
      const next = await api<RunLog>(`/v1/run/log?since=${offset}`);
      if (next.reset) entries.length = 0;
      offset = next.offset;
      log = next;
      if (next.entries.length || next.reset) { entries.push(...next.entries); draw(); }
      clearErrors(TITLE);
    } catch (err) { showError(TITLE, err); }
    timer = window.setTimeout(poll, POLL_MS);
  };
  timer = window.setTimeout(poll, POLL_MS);
  let lastW = window.innerWidth;
  window.addEventListener('resize', () => { if (window.innerWidth !== lastW) { lastW = window.innerWidth; draw(); } });
  void timer;
}
