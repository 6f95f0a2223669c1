// A small line chart on a canvas: linear or log y axis, several series, a legend.
import { hidpiCanvas } from './ui.ts';

export interface Series { label: string; color: string; points: [number, number][]; dashed?: boolean; legend?: boolean }
export interface ChartOpts { title: string; xLabel: string; logY?: boolean; yMin?: number; yMax?: number; percent?: boolean; xMin?: number; xMax?: number }

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(step0)), r = step0 / mag;
  const step = (r >= 5 ? 10 : r >= 2 ? 5 : r >= 1 ? 2 : 1) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

const fmt = (v: number, pct?: boolean) => (pct ? `${(v * 100).toFixed(0)}%`
  : Math.abs(v) >= 1e6 ? `${+(v / 1e6).toPrecision(3)}M` : Math.abs(v) >= 1e3 ? `${+(v / 1e3).toPrecision(3)}k`
    : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(1).replace(/\.0e/, 'e').replace('e-', 'e−') : String(+v.toPrecision(3)));

export function drawChart(canvas: HTMLCanvasElement, series: Series[], o: ChartOpts): void {
  const W = Math.max(240, canvas.parentElement?.clientWidth ?? 480), H = 220;
  const ctx = hidpiCanvas(canvas, W, H);
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue('--fg').trim() || '#222', muted = css.getPropertyValue('--muted').trim() || '#777', grid = css.getPropertyValue('--grid').trim() || '#e5e5e5';
  ctx.clearRect(0, 0, W, H);
  ctx.font = '600 13px system-ui, sans-serif'; ctx.fillStyle = fg; ctx.textBaseline = 'top';
  ctx.fillText(o.title, 8, 6);
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
  const L = 52, R = 12, T = 44, B = 34;
  if (!pts.length) { ctx.font = '13px system-ui'; ctx.fillStyle = muted; ctx.fillText('no data yet', L, T + 60); return; }
  const ty = (y: number) => (o.logY ? Math.log10(y) : y);
  let lo = [Infinity, Infinity], hi = [-Infinity, -Infinity]; // loops, not spreads: logs can hold 100k+ points
  for (const [x, y] of pts) { lo = [Math.min(lo[0], x), Math.min(lo[1], ty(y))]; hi = [Math.max(hi[0], x), Math.max(hi[1], ty(y))]; }
  let x0 = o.xMin ?? lo[0], x1 = o.xMax ?? hi[0];
  let y0 = o.yMin ?? lo[1], y1 = o.yMax ?? hi[1];
  if (o.logY && y1 > y0) { y0 = Math.floor(y0 + 1e-9); y1 = Math.ceil(y1 - 1e-9); } // whole decades, so ticks exist at both ends
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= o.logY ? 0.5 : Math.abs(y0) * 0.1 || 1; y1 += o.logY ? 0.5 : Math.abs(y1) * 0.1 || 1; }
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R), sy = (y: number) => H - B - ((ty(y) - y0) / (y1 - y0)) * (H - T - B);
  ctx.font = '11px system-ui, sans-serif'; ctx.lineWidth = 1;
  const yt = o.logY ? niceTicks(Math.floor(y0), Math.ceil(y1), 4).filter((v) => Number.isInteger(v) && v >= y0 - 1e-9 && v <= y1 + 1e-9).map((v) => 10 ** v) : niceTicks(y0, y1, 4);
  for (const v of yt) {
    const y = sy(v);
    ctx.strokeStyle = grid; ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
    ctx.fillStyle = muted; ctx.textAlign = 'right'; ctx.textBaseline = 'middle'; ctx.fillText(fmt(v, o.percent), L - 6, y);
  }
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  for (const v of niceTicks(x0, x1, 5)) ctx.fillText(fmt(v), sx(v), H - B + 5);
  ctx.fillText(o.xLabel, L + (W - L - R) / 2, H - 15);
  ctx.strokeStyle = muted; ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
  let lx = L;
  ctx.textAlign = 'left'; ctx.textBaseline = 'top'; ctx.font = '12px system-ui, sans-serif';
  for (const s of series) {
    const valid = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
    ctx.strokeStyle = s.color; ctx.lineWidth = s.legend === false ? 1 : 2; ctx.setLineDash(s.dashed ? [5, 4] : []);
    ctx.beginPath();
    valid.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    ctx.stroke();
    if (valid.length <= 40 && s.legend !== false) { ctx.fillStyle = s.color; for (const [x, y] of valid) { ctx.beginPath(); ctx.arc(sx(x), sy(y), 2.5, 0, 7); ctx.fill(); } }
    ctx.setLineDash([]);
    if (s.legend === false) continue;
    const last = valid.at(-1);
    const text = `${s.label}${last ? ` ${fmt(last[1], o.percent && !o.logY)}` : ''}`;
    ctx.fillStyle = s.color; ctx.fillRect(lx, 29, 10, 3); ctx.fillText(text, lx + 14, 24);
    lx += ctx.measureText(text).width + 28;
  }
}
