// Architecture: every layer as a block drawn to scale, a params/MACs table, and a details panel.
import type { Architecture, SummaryLayer } from './api.ts';
import { source } from './source.ts';
import { h, fmtCount, fmtShape } from './ui.ts';

const KIND_CLASS: [RegExp, string][] = [[/conv/i, 'k-conv'], [/relu/i, 'k-relu'], [/lrn|norm/i, 'k-lrn'], [/pool/i, 'k-pool'], [/drop/i, 'k-drop'], [/linear|fc|dense/i, 'k-fc'], [/soft/i, 'k-soft']];
const kindClass = (k: string) => KIND_CLASS.find(([re]) => re.test(k))?.[1] ?? 'k-other';

const BLOCK_MAX_H = 120; // px for the largest feature map side / the widest fc layer

/** Feature maps: height = side, width = channels, both relative to the largest conv output; fc: height = width. */
function blockSize(l: SummaryLayer, arch: Architecture): { w: number; h: number } {
  const maps = arch.layers.filter((x) => x.outputShape.length === 3);
  const maxSide = Math.max(1, ...maps.map((x) => x.outputShape[1]));
  const maxC = Math.max(1, ...maps.map((x) => x.outputShape[0]));
  const maxF = Math.max(1, ...arch.layers.filter((x) => x.outputShape.length === 1).map((x) => x.outputShape[0]));
  if (l.outputShape.length === 3) {
    const [c, side] = l.outputShape;
    return { w: Math.max(3, Math.round((c / maxC) * 48)), h: Math.max(3, Math.round((side / maxSide) * BLOCK_MAX_H)) };
  }
  return { w: 8, h: Math.max(2, Math.round((l.outputShape[0] / maxF) * BLOCK_MAX_H)) };
}

const shapeLines = (s: number[]) => (s.length === 3 ? [`${s[1]}×${s[2]}`, `×${s[0]}`] : [String(s[0])]);

export async function renderArchitecture(body: HTMLElement): Promise<Architecture> {
  const arch = await source().architecture();
  const line = document.getElementById('model-line');
  if (line) line.textContent = `${arch.variant === 'paper' ? 'Paper variant (LRN, two GPU groups)' : 'torchvision variant'} · ${arch.classes} classes · input ${fmtShape(arch.inputShape)} · ${arch.totals.params.toLocaleString('en')} parameters · ${fmtCount(arch.totals.macs)} multiply-adds` + (arch.widthScale && arch.widthScale !== 1 ? ` · reduced width ×${arch.widthScale}` : '');

  const maxParams = Math.max(...arch.layers.map((l) => l.params), 1);
  const maxMacs = Math.max(...arch.layers.map((l) => l.macs), 1);
  const details = h('div', { class: 'arch-details', 'aria-live': 'polite' });
  const strip = h('div', { class: 'arch-strip', role: 'list', 'aria-label': 'Layers, drawn to scale' });
  const rows: HTMLTableRowElement[] = [];
  const buttons: HTMLButtonElement[] = [];

  const select = (i: number) => {
    const l = arch.layers[i];
    buttons.forEach((b, j) => b.setAttribute('aria-pressed', String(j === i)));
    rows.forEach((r, j) => r.classList.toggle('selected', j === i));
    const pct = (v: number, t: number) => (t ? ` (${((100 * v) / t).toFixed(1)}% of the network)` : '');
    details.replaceChildren(
      h('h3', {}, `${l.name}`, h('span', { class: `chip ${kindClass(l.kind)}` }, l.kind)),
      h('dl', {},
        h('dt', {}, 'Output'), h('dd', {}, `${fmtShape(l.outputShape)}  (${l.outputShape.reduce((a, b) => a * b, 1).toLocaleString('en')} values)`),
        h('dt', {}, 'Parameters'), h('dd', {}, `${l.params.toLocaleString('en')}${pct(l.params, arch.totals.params)}`),
        h('dt', {}, 'Multiply-adds'), h('dd', {}, `${l.macs.toLocaleString('en')}${pct(l.macs, arch.totals.macs)}`),
        ...(l.tensors.length ? [h('dt', {}, 'Tensors'), h('dd', {}, ...l.tensors.map((t) => h('code', { class: 'tensor' }, `${t.name} ${t.shape.join('×')}`)))] : []),
        h('dt', {}, 'Input'), h('dd', {}, i === 0 ? fmtShape(arch.inputShape) : fmtShape(arch.layers[i - 1].outputShape)),
      ),
    );
  };

  // input image block first
  // the input image is 4x conv1's side: drawn at the cap and marked as not to scale
  strip.append(h('div', { class: 'arch-item input', role: 'listitem', title: 'The input image (not to scale)' },
    h('div', { class: 'arch-blockwrap' }, h('div', { class: 'arch-block k-input', style: { width: '10px', height: `${BLOCK_MAX_H + 16}px` } })),
    h('div', { class: 'arch-label' }, h('div', { class: 'arch-name' }, 'input'), h('div', { class: 'arch-shape' }, ...shapeLines(arch.inputShape).map((t) => h('span', {}, t))))));

  arch.layers.forEach((l, i) => {
    const { w, h: hh } = blockSize(l, arch);
    const compact = l.params === 0 && !/pool/i.test(l.kind);
    const b = h('button', {
      type: 'button', class: `arch-item${compact ? ' compact' : ''}`, 'aria-pressed': 'false',
      'aria-label': `${l.name}, ${l.kind}, output ${fmtShape(l.outputShape)}, ${l.params.toLocaleString('en')} parameters, ${l.macs.toLocaleString('en')} multiply-adds`,
      onclick: () => select(i),
    },
    h('div', { class: 'arch-blockwrap' }, h('div', { class: `arch-block ${kindClass(l.kind)}`, style: { width: `${w}px`, height: `${hh}px` } })),
    h('div', { class: 'arch-label' }, h('div', { class: 'arch-name' }, l.name),
      compact ? null : h('div', { class: 'arch-shape' }, ...shapeLines(l.outputShape).map((t) => h('span', {}, t)))));
    buttons.push(b);
    strip.append(h('div', { role: 'listitem' }, b));
  });

  const bar = (v: number, max: number, cls: string) => h('div', { class: `bar ${cls}`, 'aria-hidden': 'true' }, h('span', { style: { width: `${(100 * v) / max}%` } }));
  const table = h('table', { class: 'arch-table' },
    h('caption', { class: 'sr-only' }, 'Layers with output shape, parameters and multiply-adds'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Layer'), h('th', { scope: 'col' }, 'Output'), h('th', { scope: 'col' }, 'Parameters'), h('th', { scope: 'col' }, 'Multiply-adds'))),
    h('tbody', {}, ...arch.layers.map((l, i) => {
      const r = h('tr', { onclick: () => select(i) },
        h('th', { scope: 'row' }, h('span', { class: `dot ${kindClass(l.kind)}` }), `${l.name}`, h('span', { class: 'muted kind' }, ` ${l.kind}`)),
        h('td', {}, fmtShape(l.outputShape)),
        h('td', {}, h('div', { class: 'num' }, l.params ? fmtCount(l.params) : '–'), l.params ? bar(l.params, maxParams, 'b-params') : null),
        h('td', {}, h('div', { class: 'num' }, l.macs ? fmtCount(l.macs) : '–'), l.macs ? bar(l.macs, maxMacs, 'b-macs') : null));
      rows.push(r);
      return r;
    })),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'Total'), h('td', {}), h('td', {}, h('div', { class: 'num' }, arch.totals.params.toLocaleString('en'))), h('td', {}, h('div', { class: 'num' }, arch.totals.macs.toLocaleString('en'))))));

  // ReLU / LRN / dropout rows (no parameters, same shape as their input) are hidden until asked for
  const toggle = h('input', { type: 'checkbox', id: 'arch-all' }) as HTMLInputElement;
  const sync = () => table.classList.toggle('show-all', toggle.checked);
  toggle.addEventListener('change', sync);
  arch.layers.forEach((l, i) => { if (l.params === 0 && !/pool/i.test(l.kind)) rows[i].classList.add('minor'); });
  const legend = h('div', { class: 'arch-legend small muted', 'aria-hidden': 'true' },
    ...[['k-conv', 'convolution'], ['k-relu', 'ReLU'], ['k-lrn', 'local response norm'], ['k-pool', 'max pool'], ['k-drop', 'dropout / flatten'], ['k-fc', 'fully connected']]
      .filter(([c]) => c !== 'k-lrn' || arch.layers.some((l) => kindClass(l.kind) === 'k-lrn'))
      .map(([c, t]) => h('span', {}, h('span', { class: `dot ${c}` }), t)));
  body.replaceChildren(h('div', { class: 'arch-scroll' }, strip), legend,
    h('div', { class: 'arch-grid' },
      h('div', { class: 'table-scroll' }, table, h('label', { class: 'toggle small muted' }, toggle, ' Show the ReLU, LRN and dropout rows too')),
      details));
  sync();
  select(Math.max(0, arch.layers.findIndex((l) => /conv/i.test(l.kind))));
  return arch;
}
