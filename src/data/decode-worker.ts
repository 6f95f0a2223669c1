// Decode worker: file -> side x side RGB uint8 (shorter side to side, centre square), via sharp.
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { loadResized } from './preprocess.ts';

export interface DecodeRequest { id: number; path: string; side: number; limitInputPixels?: number }
export type DecodeReply = { id: number; ok: true; data: Uint8Array } | { id: number; ok: false; error: string };

sharp.concurrency(1); // parallelism comes from the worker count
parentPort!.on('message', async (m: DecodeRequest) => {
  try {
    const img = await loadResized(m.path, m.side, { limitInputPixels: m.limitInputPixels });
    const data = img.data.byteOffset === 0 && img.data.byteLength === img.data.buffer.byteLength ? img.data : img.data.slice();
    parentPort!.postMessage({ id: m.id, ok: true, data } satisfies DecodeReply, [data.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, ok: false, error: (err as Error).message } satisfies DecodeReply);
  }
});
