// Activation maps of one layer as one RGB picture: inferno-coloured tiles, upscaled, in a grid.
import { infernoLut } from './colormap.ts';
import type { LayerMaps } from './activations.ts';

const LUT = infernoLut();

export function activationGrid(layer: LayerMaps, opts: { tile?: number; cols?: number; gap?: number } = {}): { width: number; height: number; rgb: Uint8Array } {
  const [, H, W] = layer.shape;
  const n = layer.channels.length;
  const scale = Math.max(1, Math.round((opts.tile ?? 96) / Math.max(H, W)));
  const th = H * scale, tw = W * scale, gap = opts.gap ?? 3;
  const cols = Math.min(n, opts.cols ?? 8), rows = Math.ceil(n / cols);
  const width = cols * tw + (cols + 1) * gap, height = rows * th + (rows + 1) * gap;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  layer.channels.forEach((c, j) => {
    const x0 = gap + (j % cols) * (tw + gap), y0 = gap + Math.floor(j / cols) * (th + gap);
    for (let y = 0; y < th; y++)
      for (let x = 0; x < tw; x++) {
        const v = c.data[Math.floor(y / scale) * W + Math.floor(x / scale)] * 3, d = ((y0 + y) * width + x0 + x) * 3;
        rgb[d] = LUT[v]; rgb[d + 1] = LUT[v + 1]; rgb[d + 2] = LUT[v + 2];
      }
  });
  return { width, height, rgb };
}
