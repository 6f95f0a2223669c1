// Pack worker: image file -> side x side centre square (the training cache's pixels), encoded as
// JPEG or kept raw (HWC uint8), via sharp.
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { loadResized } from './preprocess.ts';
import type { ShardFormat } from './shards.ts';

export interface PackRequest { id: number; path: string; side: number; format: ShardFormat; quality: number; limitInputPixels?: number }
export type PackReply = { id: number; ok: true; data: Uint8Array } | { id: number; ok: false; error: string };

sharp.concurrency(1); // parallelism comes from the worker count
parentPort!.on('message', async (m: PackRequest) => {
  try {
    const img = await loadResized(m.path, m.side, { limitInputPixels: m.limitInputPixels });
    if (img.width !== m.side || img.height !== m.side || img.channels !== 3) throw new Error(`resized to ${img.width}x${img.height}x${img.channels}`);
    let data: Uint8Array = img.data;
    if (m.format === 'jpeg') {
      const raw = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
      data = await sharp(raw, { raw: { width: m.side, height: m.side, channels: 3 } }).jpeg({ quality: m.quality }).toBuffer();
    }
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : new Uint8Array(data); // a copy (Buffer#slice is a view)
    parentPort!.postMessage({ id: m.id, ok: true, data: own } satisfies PackReply, [own.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, ok: false, error: (err as Error).message } satisfies PackReply);
  }
});
