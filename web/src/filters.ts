// conv1 filters as an RGB grid; the paper variant's two GPU groups side by side.
import { fromBase64 } from './api.ts';
import { source } from './source.ts';
import { h, pixelsToCanvas } from './ui.ts';

export async function renderFilters(body: HTMLElement): Promise<void> {
  const f = await source().filters();
  const hint = body.parentElement?.querySelector('.hint');
  if (hint && f.groups.length === 1) hint.textContent = `The conv1 kernels as RGB images, each stretched to its own range. This is the ${f.variant} variant, trained as one group; in the paper's two-GPU model one half tends to learn colour-agnostic edges and the other colour blobs.`;
  const cols = f.groups.length > 1 ? 6 : Math.ceil(Math.sqrt(f.count));
  const gap = 1;
  const groups = f.groups.map((g, gi) => {
    const rows = Math.ceil(g.length / cols);
    const W = cols * (f.size + gap) + gap, H = rows * (f.size + gap) + gap;
    const rgba = new Uint8ClampedArray(W * H * 4).fill(255);
    let chroma = 0;
    g.forEach((k, j) => {
      const t = fromBase64(f.tiles[k]);
      // colourfulness: mean of (max - min) over RGB per pixel; grey (colour-agnostic) kernels score near 0
      for (let p = 0; p < t.length; p += 3) chroma += (Math.max(t[p], t[p + 1], t[p + 2]) - Math.min(t[p], t[p + 1], t[p + 2])) / 255;
      const x0 = gap + (j % cols) * (f.size + gap), y0 = gap + Math.floor(j / cols) * (f.size + gap);
      for (let y = 0; y < f.size; y++)
        for (let x = 0; x < f.size; x++) {
          const s = (y * f.size + x) * 3, d = ((y0 + y) * W + x0 + x) * 4;
          rgba[d] = t[s]; rgba[d + 1] = t[s + 1]; rgba[d + 2] = t[s + 2]; rgba[d + 3] = 255;
        }
    });
    const canvas = h('canvas', { class: 'filter-grid', role: 'img', 'aria-label': `${g.length} conv1 filters of ${f.size}×${f.size} pixels${f.groups.length > 1 ? `, GPU ${gi + 1}` : ''}` });
    pixelsToCanvas(canvas, rgba, W, H);
    canvas.style.setProperty('--w', String(W));
    const title = f.groups.length > 1 ? `GPU ${gi + 1}: filters ${g[0] + 1}–${g[g.length - 1] + 1}` : `${f.count} filters`;
    const colour = chroma / (g.length * f.size * f.size);
    return h('figure', { class: 'filter-group' }, canvas, h('figcaption', {}, title, h('span', { class: 'chroma' }, `colourfulness ${(100 * colour).toFixed(0)}%`)));
  });
  body.replaceChildren(h('div', { class: 'filter-groups' }, ...groups),
    h('p', { class: 'muted small' }, `${f.count} kernels of ${f.size}×${f.size}×3, ${f.groups.length > 1 ? 'split as the paper split them across two GPUs' : 'in one group'}. `, source().kind === 'server' && h('a', { href: '/v1/filters?format=png&scale=6', download: 'conv1-filters.png' }, 'Download as PNG')));
}
