// "Try an image": upload / drop / sample -> crop, top-5 with bars, activation maps of every conv layer.
import { fromBase64, type Activations } from './api.ts';
import { source } from './source.ts';
import { h, pixelsToCanvas, showError, clearErrors, fmtShape } from './ui.ts';
import { infernoLut, mapToRgba } from '../../src/viz/colormap.ts';

const TITLE = 'Try an image';
const lut = infernoLut();
let busy = 0;

function status(text: string): void {
  document.getElementById('try-status')!.textContent = text;
}

async function classify(bytes: Blob, label: string): Promise<void> {
  const result = document.getElementById('try-result')!;
  const ticket = ++busy;
  status(`Running AlexNet on ${label}…`);
  result.setAttribute('aria-busy', 'true');
  try {
    if (bytes.size === 0) throw new Error('the file is empty');
    const a = await source().activations(bytes);
    if (ticket !== busy) return; // a newer image was chosen meanwhile
    clearErrors(TITLE);
    render(result, a, label);
    result.dataset.state = 'ready';
    status(`${label}: done in ${a.ms} ms.`);
  } catch (err) {
    if (ticket !== busy) return;
    status(`${label} could not be classified.`);
    result.dataset.state = result.dataset.state === 'ready' ? 'ready' : 'error';
    showError(TITLE, err);
  } finally {
    if (ticket === busy) result.removeAttribute('aria-busy');
  }
}

function render(result: HTMLElement, a: Activations, label: string): void {
  const crop = h('canvas', { class: 'crop', role: 'img', 'aria-label': `The ${a.size}×${a.size} crop the network sees` });
  pixelsToCanvas(crop, fromBase64(a.crop), a.size, a.size);
  const preds = h('ol', { class: 'preds', id: 'top5', 'aria-label': 'Top-5 predictions' },
    ...a.predictions.map((p, i) => h('li', {},
      h('div', { class: 'pred-row' }, h('span', { class: 'pred-name', 'data-testid': i === 0 ? 'top1' : undefined }, p.className), h('span', { class: 'pred-p' }, `${(100 * p.probability).toFixed(1)}%`)),
      h('div', { class: 'bar b-pred', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': (100 * p.probability).toFixed(1), 'aria-label': p.className },
        h('span', { style: { width: `${Math.max(0.5, 100 * p.probability)}%` } })))));
  const layers = a.layers.map((l) => {
    const [C, H, W] = l.shape;
    const maps = l.channels.map((c) => {
      const canvas = h('canvas', { class: 'amap', 'aria-hidden': 'true' });
      pixelsToCanvas(canvas, mapToRgba(fromBase64(c.data), lut), W, H);
      return h('button', { type: 'button', class: 'amap-cell', 'aria-label': `${l.name} channel ${c.channel}, mean activation ${c.mean.toFixed(3)}: show larger`, onclick: () => zoom(crop, canvas, `${l.name} · channel ${c.channel}`, `mean ${c.mean.toFixed(3)}, max ${c.max.toFixed(3)}`) },
        canvas, h('span', { class: 'amap-cap' }, `#${c.channel}`));
    });
    return h('div', { class: 'layer-maps', 'data-layer': l.name },
      h('h4', {}, l.name, h('span', { class: 'muted' }, ` ${fmtShape(l.shape)} · strongest ${l.channels.length} of ${C} channels (mean activation)`)),
      h('div', { class: 'amap-grid', style: { '--side': `${W >= 40 ? 60 : 52}px` } }, ...maps));
  });
  result.replaceChildren(
    h('div', { class: 'try-top' },
      h('figure', { class: 'crop-fig' }, crop, h('figcaption', {}, `${label} · ${a.size}×${a.size} input`)),
      h('div', { class: 'preds-box' }, h('h3', {}, 'Top-5 predictions'), preds)),
    h('h3', {}, 'Activation maps'),
    h('p', { class: 'hint' }, 'Every conv layer after its ReLU, strongest channels (highest mean activation) first; brighter = stronger. Each map is stretched to its own range.'),
    ...layers);
}

/** A dialog with one activation map enlarged, next to the crop and blended over it (Esc closes it). */
function zoom(crop: HTMLCanvasElement, map: HTMLCanvasElement, title: string, sub: string): void {
  document.getElementById('zoom')?.remove();
  const side = Math.min(300, Math.floor((window.innerWidth - 80) / 3));
  const draw = (alpha: number, withCrop: boolean) => {
    const c = h('canvas', { class: 'zoom-canvas', width: side, height: side }) as HTMLCanvasElement;
    const ctx = c.getContext('2d')!;
    if (withCrop) ctx.drawImage(crop, 0, 0, side, side);
    ctx.globalAlpha = alpha;
    ctx.imageSmoothingEnabled = withCrop; // the map alone shows its real pixels; blended it is smoothed
    if (alpha > 0) ctx.drawImage(map, 0, 0, side, side);
    return c;
  };
  const close = h('button', { type: 'button', class: 'zoom-close' }, 'Close');
  const dlg = h('dialog', { id: 'zoom', class: 'zoom', 'aria-label': title },
    h('h3', {}, title, h('span', { class: 'muted' }, ` ${sub}`)),
    h('div', { class: 'zoom-row' },
      h('figure', {}, draw(0, true), h('figcaption', {}, 'input crop')),
      h('figure', {}, draw(1, false), h('figcaption', {}, 'activation')),
      h('figure', {}, draw(0.6, true), h('figcaption', {}, 'overlay'))),
    close);
  close.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => dlg.remove());
  dlg.addEventListener('click', (e) => { if (e.target === dlg) dlg.close(); });
  document.body.append(dlg);
  (dlg as HTMLDialogElement).showModal();
  close.focus();
}

/** Fetches an image by URL and classifies it (the page's ?image=URL). */
export async function classifyUrl(url: string): Promise<void> {
  const name = decodeURIComponent(url.split('/').pop() || url);
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`the image ${url} could not be loaded (${res.status})`);
    await classify(await res.blob(), name);
  } catch (err) { showError(TITLE, err); }
}

export async function setupTry(): Promise<void> {
  const input = document.getElementById('file') as HTMLInputElement;
  const drop = document.getElementById('drop')!;
  input.addEventListener('change', () => { const f = input.files?.[0]; if (f) void classify(f, f.name); input.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault(); drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) void classify(f, f.name); else showError(TITLE, new Error('nothing to read in what was dropped; drop an image file'));
  });
  // paste an image from the clipboard
  window.addEventListener('paste', (e) => { const f = e.clipboardData?.files?.[0]; if (f) void classify(f, 'pasted image'); });

  const list = document.getElementById('sample-list')!;
  try {
    const samples = await source().samples();
    if (!samples.length) { list.append(h('span', { class: 'muted' }, source().kind === 'server' ? 'none on this server' : 'none (add ?image=URL to the address)')); return; }
    for (const { name, url, label, inClass } of samples) {
      const outside = inClass === false ? ` (${label}: not a class this model knows)` : '';
      list.append(h('button', {
        type: 'button', class: 'sample', 'data-sample': name, 'aria-label': `Classify the sample ${name}${outside}`,
        onclick: async () => {
          try {
            const res = await fetch(url);
            if (!res.ok) throw new Error(`the sample ${name} could not be loaded (${res.status})`);
            await classify(await res.blob(), name);
          } catch (err) { showError(TITLE, err); }
        },
      }, h('img', { src: url, alt: '', loading: 'lazy', width: 44, height: 44 }), h('span', {}, name.replace(/\.[a-z]+$/i, '')),
        outside && h('span', { class: 'muted' }, 'not a class this model knows')));
    }
  } catch (err) {
    list.append(h('span', { class: 'muted' }, 'unavailable'));
    showError(TITLE, err);
  }
}
