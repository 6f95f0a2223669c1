// Server test helpers: a reduced-width model saved with saveWeights, and synthetic images.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadWeights, saveWeights } from '../../src/io/weights.ts';

process.env.ALEXNET_QUIET = '1';

/** tv_small (torchvision, widthScale 1/8, 10 classes) with class names, as safetensors in a temp dir. */
export async function smallWeights(): Promise<{ file: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-srv-'));
  const { sd, meta } = await loadWeights(fileURLToPath(new URL('../fixtures/io/tv_small.pth', import.meta.url)),
    { classNames: ['tench', 'springer', 'cassette', 'chainsaw', 'church', 'horn', 'truck', 'pump', 'golf ball', 'parachute'] });
  const file = join(dir, 'small.safetensors');
  await saveWeights(file, sd, meta);
  return { file, dir };
}

/** Bytes as a Blob part (TS's DOM types do not take a Node Buffer directly). */
export const blob = (b: Uint8Array, type = 'image/png') => new Blob([new Uint8Array(b)], { type });

export async function image(w: number, h: number, seed = 0, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + seed * 31 + ((i / (3 * w)) | 0)) & 255;
  const s = sharp(data, { raw: { width: w, height: h, channels: 3 } });
  return format === 'png' ? s.png().toBuffer() : s.jpeg().toBuffer();
}

export async function post(base: string, path: string, body: Uint8Array, headers: Record<string, string> = { 'content-type': 'image/png' }) {
  const r = await fetch(base + path, { method: 'POST', body: body as unknown as BodyInit, headers });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}
