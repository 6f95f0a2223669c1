// Training curves as a hand-written SVG: loss by step (left), validation accuracy by epoch (right).

export interface EpochRecord { epoch: number; step: number; trainLoss: number; valTop1?: number; valTop5?: number; lr: number; seconds: number; imagesPerSec?: number }
export interface History { steps: [number, number][]; epochs: EpochRecord[] }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : String(Number(v.toFixed(2))));

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel(x0: number, w: number, h: number, title: string, xLabel: string, xMax: number, yMax: number,
  series: { pts: [number, number][]; color: string; label: string; width?: number; dots?: boolean; opacity?: number }[], yPct = false, intX = false): string {
  const L = 52, R = 12, T = 28, B = 40, pw = w - L - R, ph = h - T - B;
  const X = (v: number) => x0 + L + (v / (xMax || 1)) * pw;
  const Y = (v: number) => T + ph - (v / yMax) * ph;
  const out: string[] = [`<text x="${x0 + L}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4, y = Y(v);
    out.push(`<line x1="${x0 + L}" y1="${y}" x2="${x0 + L + pw}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${x0 + L - 6}" y="${y + 4}" font-size="11" text-anchor="end">${yPct ? `${Math.round(v * 100)}%` : fmt(v)}</text>`);
  }
  // the axis ends at the last point; ticks at round multiples inside it
  const tick = intX ? Math.ceil(xMax / 8) : niceMax(xMax / 5);
  const xs = Array.from({ length: Math.floor(xMax / tick + 1e-9) + 1 }, (_, i) => i * tick);
  for (const v of xs) out.push(`<text x="${X(v)}" y="${T + ph + 16}" font-size="11" text-anchor="middle">${intX ? String(v) : fmt(v)}</text>`);
  out.push(`<text x="${x0 + L + pw / 2}" y="${h - 6}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>`,
    `<rect x="${x0 + L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  series.forEach((s, k) => {
    if (!s.pts.length) return;
    const d = s.pts.map(([a, b], i) => `${i ? 'L' : 'M'}${X(a).toFixed(1)},${Y(Math.min(b, yMax)).toFixed(1)}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.5}" opacity="${s.opacity ?? 1}"/>`);
    if (s.dots) for (const [a, b] of s.pts) out.push(`<circle cx="${X(a).toFixed(1)}" cy="${Y(b).toFixed(1)}" r="3" fill="${s.color}"/>`);
    out.push(`<rect x="${x0 + L + pw - 120}" y="${T + 8 + k * 16}" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${x0 + L + pw - 106}" y="${T + 17 + k * 16}" font-size="11">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

/** Moving average over a window of k points. */
function smooth(p: [number, number][], k: number): [number, number][] {
  if (p.length < 3) return p;
  const out: [number, number][] = [];
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    s += p[i][1];
    if (i >= k) s -= p[i - k][1];
    out.push([p[i][0], s / Math.min(i + 1, k)]);
  }
  return out;
}

export function curvesSvg(h: History, title = 'AlexNet training'): string {
  const W = 920, H = 340;
  const stepMax = Math.max(1, ...h.steps.map((p) => p[0]), ...h.epochs.map((e) => e.step));
  const lossMax = niceMax(Math.max(0.1, ...h.steps.map((p) => p[1]).filter(Number.isFinite)));
  const k = Math.max(1, Math.round(h.steps.length / 50));
  const left = panel(0, W / 2, H, `${title}: training loss`, 'step', stepMax, lossMax, [
    { pts: h.steps, color: '#9ecae1', label: 'loss (batch)', width: 1, opacity: 0.8 },
    { pts: smooth(h.steps, k), color: '#08519c', label: `loss (mean of ${k})`, width: 2 },
    { pts: h.epochs.map((e) => [e.step, e.trainLoss]), color: '#e6550d', label: 'epoch mean', dots: true },
  ]);
  const epMax = Math.max(1, h.epochs.length);
  const right = panel(W / 2, W / 2, H, 'validation accuracy (centre crop)', 'epoch', epMax, 1, [
    { pts: h.epochs.filter((e) => e.valTop1 !== undefined).map((e) => [e.epoch + 1, e.valTop1!]), color: '#31a354', label: 'top-1', dots: true },
    { pts: h.epochs.filter((e) => e.valTop5 !== undefined).map((e) => [e.epoch + 1, e.valTop5!]), color: '#756bb1', label: 'top-5', dots: true },
  ], true, true);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n<rect width="${W}" height="${H}" fill="white"/>\n${left}\n${right}\n</svg>\n`;
}
