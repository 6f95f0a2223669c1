// conv1 kernels as RGB tiles: w (K,3,R,S) -> K tiles of R*S*3 uint8, each stretched to its own min..max.
import type { Model, NamedArray } from '../model/types.ts';

export interface FilterTiles {
  count: number;
  /** Tile side (kernel size R = S, 11 for AlexNet). */
  size: number;
  /** RGB uint8 (size*size*3, HWC) per filter. */
  tiles: Uint8Array[];
  /** Filter indices per group: the paper's two GPU halves (0..47, 48..95), or one group. */
  groups: number[][];
}

/** The first conv layer's weight tensor (features.0.weight by the interchange naming). */
export async function conv1Weight(model: Model): Promise<NamedArray> {
  const sd = await model.stateDict();
  const w = sd['features.0.weight'] ?? Object.values(sd).find((t) => t.shape.length === 4);
  if (!w) throw new Error('the model has no conv weights');
  return w;
}

export function filterTiles(w: NamedArray, variant: string): FilterTiles {
  const [K, C, R, S] = w.shape;
  if (C !== 3) throw new Error(`conv1 has ${C} input channels; expected RGB (3)`);
  const tiles: Uint8Array[] = [];
  for (let k = 0; k < K; k++) {
    const base = k * C * R * S;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < C * R * S; i++) { const v = w.data[base + i]; if (v < lo) lo = v; if (v > hi) hi = v; }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const t = new Uint8Array(R * S * 3);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < R * S; p++) t[p * 3 + c] = Math.round((w.data[base + c * R * S + p] - lo) * scale);
    tiles.push(t);
  }
  const all = Array.from({ length: K }, (_, i) => i);
  // The paper trained conv1's first and second halves on separate GPUs (conv2 has groups = 2).
  const groups = variant === 'paper' && K % 2 === 0 ? [all.slice(0, K / 2), all.slice(K / 2)] : [all];
  return { count: K, size: R, tiles, groups };
}

/** How colourful each filter is: the share of its squared weights off the grey axis, sum |w - mean_c w|^2 /
 *  sum |w|^2 (0 = a pure luminance filter, up to 2/3 for one channel alone). The paper's two GPU halves
 *  split into colour-agnostic and colour-specific filters; this number says whether a run's did. */
export function colourShare(w: NamedArray): number[] {
  const [K, C, R, S] = w.shape, P = R * S;
  const out: number[] = [];
  for (let k = 0; k < K; k++) {
    let all = 0, off = 0;
    for (let p = 0; p < P; p++) {
      let m = 0;
      for (let c = 0; c < C; c++) m += w.data[k * C * P + c * P + p] / C;
      for (let c = 0; c < C; c++) { const v = w.data[k * C * P + c * P + p]; all += v * v; off += (v - m) * (v - m); }
    }
    out.push(all > 0 ? off / all : 0);
  }
  return out;
}

/** Mean colour share per filter group (one entry per group of filterTiles). */
export function groupColourShare(w: NamedArray, f: FilterTiles): number[] {
  const s = colourShare(w);
  return f.groups.map((g) => g.reduce((a, k) => a + s[k], 0) / g.length);
}

/** Lays tiles out as one RGB image: groups side by side, each a grid of `cols` columns. */
export function filterGrid(f: FilterTiles, opts: { scale?: number; gap?: number; groupGap?: number; background?: number } = {}): { width: number; height: number; rgb: Uint8Array } {
  const scale = opts.scale ?? 4, gap = opts.gap ?? 2, groupGap = opts.groupGap ?? 12, bg = opts.background ?? 255;
  const tile = f.size * scale;
  const cols = f.groups.length > 1 ? 6 : Math.ceil(Math.sqrt(f.count));
  const layouts = f.groups.map((g) => ({ g, rows: Math.ceil(g.length / cols) }));
  const groupW = cols * tile + (cols + 1) * gap;
  const width = layouts.length * groupW + (layouts.length - 1) * groupGap;
  const height = Math.max(...layouts.map((l) => l.rows)) * (tile + gap) + gap;
  const rgb = new Uint8Array(width * height * 3).fill(bg);
  layouts.forEach(({ g }, gi) => {
    const x0 = gi * (groupW + groupGap);
    g.forEach((k, j) => {
      const tx = x0 + gap + (j % cols) * (tile + gap), ty = gap + Math.floor(j / cols) * (tile + gap);
      const t = f.tiles[k];
      for (let y = 0; y < tile; y++)
        for (let x = 0; x < tile; x++) {
          const s = (Math.floor(y / scale) * f.size + Math.floor(x / scale)) * 3, d = ((ty + y) * width + tx + x) * 3;
          rgb[d] = t[s]; rgb[d + 1] = t[s + 1]; rgb[d + 2] = t[s + 2];
        }
    });
  });
  return { width, height, rgb };
}
