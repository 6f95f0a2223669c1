// A tiny synthetic image folder for the demo when no real data is present: four classes of
// coloured shapes on noisy backgrounds, so something learnable still shows the whole pipeline.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../util/rng.ts';

export const SYNTHETIC_CLASSES = ['disc', 'square', 'stripes', 'cross'];

function shape(kind: string, x: number, y: number, s: number, cx: number, cy: number, r: number, phase: number): boolean {
  const dx = x - cx, dy = y - cy;
  if (kind === 'disc') return dx * dx + dy * dy < r * r;
  if (kind === 'square') return Math.abs(dx) < r * 0.8 && Math.abs(dy) < r * 0.8;
  if (kind === 'stripes') return Math.floor((x + phase) / (s / 8)) % 2 === 0;
  return (Math.abs(dx) < r * 0.25 && Math.abs(dy) < r) || (Math.abs(dy) < r * 0.25 && Math.abs(dx) < r);
}

/** Writes root/{train,val}/<class>/NNN.png. Returns the root. */
export async function makeSyntheticFolder(root: string, perClass = { train: 40, val: 15 }, side = 96, seed = 0): Promise<string> {
  for (const split of ['train', 'val'] as const) {
    for (const [ci, kind] of SYNTHETIC_CLASSES.entries()) {
      const dir = path.join(root, split, kind);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass[split]; i++) {
        const r = new Rng(seed * 7919 + ci * 1000 + i + (split === 'val' ? 500 : 0));
        const fg = [r.int(256), r.int(256), r.int(256)], bg = [r.int(256), r.int(256), r.int(256)];
        const cx = side * (0.3 + 0.4 * r.uniform()), cy = side * (0.3 + 0.4 * r.uniform()), rad = side * (0.18 + 0.12 * r.uniform()), ph = r.int(side);
        const px = Buffer.alloc(side * side * 3);
        for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
          const on = shape(kind, x, y, side, cx, cy, rad, ph);
          for (let c = 0; c < 3; c++) px[(y * side + x) * 3 + c] = Math.max(0, Math.min(255, (on ? fg[c] : bg[c]) + r.int(41) - 20));
        }
        await sharp(px, { raw: { width: side, height: side, channels: 3 } }).png().toFile(path.join(dir, `${String(i).padStart(3, '0')}.png`));
      }
    }
  }
  return root;
}
