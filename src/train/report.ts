// The demo's HTML report: curves, conv1 filters as a picture, a confusion matrix and predictions.
import { writeAtomicSync } from '../util/atomic-write.ts';
import path from 'node:path';
import sharp from 'sharp';
import type { StateDict } from '../model/types.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** conv1 filters (K,3,R,S) as an RGB grid PNG: each filter min-max scaled on its own, magnified. */
export async function conv1Grid(sd: StateDict, file: string, zoom = 6): Promise<{ filters: number; width: number; height: number }> {
  const w = sd['features.0.weight'];
  const [K, C, R, S] = w.shape;
  if (C !== 3) throw new Error(`conv1 has ${C} input channels, expected 3`);
  const cols = Math.ceil(Math.sqrt(K)), rows = Math.ceil(K / cols), cell = R * zoom + 2;
  const W = cols * cell + 2, H = rows * cell + 2;
  const img = Buffer.alloc(W * H * 3, 255);
  for (let k = 0; k < K; k++) {
    const f = w.data.subarray(k * C * R * S, (k + 1) * C * R * S);
    let lo = Infinity, hi = -Infinity;
    for (const v of f) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const ox = (k % cols) * cell + 2, oy = Math.floor(k / cols) * cell + 2;
    for (let y = 0; y < R * zoom; y++) for (let x = 0; x < S * zoom; x++) {
      const sy = Math.floor(y / zoom), sx = Math.floor(x / zoom);
      for (let c = 0; c < 3; c++) img[((oy + y) * W + ox + x) * 3 + c] = Math.round((f[(c * R + sy) * S + sx] - lo) * scale);
    }
  }
  writeAtomicSync(file, await sharp(img, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer());
  return { filters: K, width: W, height: H };
}

export interface ReportPrediction { file: string; thumb: string; predictions: { className: string; probability: number }[]; /** What the photo really is ("true class: tench", "not one of the 10 classes"). */ caption?: string }
export interface ReportData {
  title: string;
  command: string;
  notes: string[];
  summary: [string, string][];
  curvesSvg: string;
  conv1Png: string;
  confusion?: { classNames: string[]; counts: number[][] };
  predictions: ReportPrediction[];
}

function confusionTable(c: NonNullable<ReportData['confusion']>): string {
  const K = c.classNames.length;
  const rowsum = c.counts.map((r) => r.reduce((a, b) => a + b, 0));
  const head = `<tr><th>true \\ predicted</th>${c.classNames.map((n) => `<th class="rot"><div>${esc(n)}</div></th>`).join('')}<th>recall</th></tr>`;
  const body = c.counts.map((r, i) => `<tr><th>${esc(c.classNames[i])}</th>${r.map((v, j) => {
    const f = rowsum[i] ? v / rowsum[i] : 0;
    const col = i === j ? `rgba(49,163,84,${0.1 + 0.9 * f})` : `rgba(222,45,38,${f ? 0.1 + 0.9 * f : 0})`;
    return `<td style="background:${col}">${v || ''}</td>`;
  }).join('')}<td>${rowsum[i] ? ((100 * r[i]) / rowsum[i]).toFixed(0) : '-'}%</td></tr>`).join('\n');
  return `<table class="conf">${head}${body}</table><p class="small">${K} classes; rows are the true class, green the diagonal.</p>`;
}

export function writeReport(file: string, d: ReportData): void {
  const preds = d.predictions.map((p) => `<div class="pred"><img src="${esc(p.thumb)}" alt=""><div><b>${esc(path.basename(p.file))}</b>${p.caption ? `<div class="small">${esc(p.caption)}</div>` : ''}${p.predictions.map((q) =>
    `<div class="bar"><span style="width:${(100 * q.probability).toFixed(1)}%"></span><em>${esc(q.className)} ${(100 * q.probability).toFixed(1)}%</em></div>`).join('')}</div></div>`).join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(d.title)}</title><style>
body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222} h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em}
code{background:#f3f3f3;padding:2px 4px} .small{color:#666;font-size:.85em} table.kv td{padding:2px 12px 2px 0}
.pred{display:flex;gap:14px;margin:10px 0;align-items:center} .pred img{width:150px;border-radius:4px}
.bar{position:relative;width:360px;height:20px;background:#eee;margin:3px 0} .bar span{position:absolute;left:0;top:0;bottom:0;background:#6baed6}
.bar em{position:absolute;left:6px;top:2px;font-style:normal;font-size:.85em} table.conf{border-collapse:collapse;font-size:.8em}
table.conf td{width:34px;height:26px;text-align:center;border:1px solid #ddd} table.conf th{text-align:right;padding-right:6px;font-weight:normal}
th.rot{height:110px;white-space:nowrap;vertical-align:bottom} th.rot div{transform:rotate(-60deg);width:26px}
</style></head><body>
<h1>${esc(d.title)}</h1>
${d.notes.map((n) => `<p>${esc(n)}</p>`).join('\n')}
<table class="kv">${d.summary.map(([k, v]) => `<tr><td>${esc(k)}</td><td><b>${esc(v)}</b></td></tr>`).join('')}</table>
<p class="small">Command: <code>${esc(d.command)}</code></p>
<h2>Training curves</h2>
${d.curvesSvg}
<h2>conv1 filters</h2>
<p class="small">Each first-layer filter (11×11×3) scaled to its own range. After long training they become the oriented edges and colour blobs of Figure 3 of the paper; after a few minutes most are still close to their random start.</p>
<img src="${esc(d.conv1Png)}" alt="conv1 filters">
${d.confusion ? `<h2>Validation confusion matrix</h2>\n${confusionTable(d.confusion)}` : ''}
<h2>Predictions on sample photos</h2>
${preds || '<p>No sample images found.</p>'}
</body></html>
`;
  writeAtomicSync(file, Buffer.from(html, 'utf8'));
}
