// Shard worker: stored records (JPEG or raw side x side RGB) -> augmented float crops, via sharp.
// Decoding here keeps the trainer's thread free; the crop/flip/lighting maths is augment.ts's.
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import type { Preprocessing } from '../model/types.ts';
import { augInput, type AugParams } from './augment.ts';
import { loadImage, writeInput, type RawImage } from './preprocess.ts';
import type { ShardFormat } from './shards.ts';

export interface ShardWorkerInit { format: ShardFormat; side: number; pp: Preprocessing; meanImage?: Float32Array }
/** out: a spare float buffer handed back for reuse (allocation churn of 10-20 MB blocks shows up as RSS). */
export interface ShardWorkRequest { id: number; items: { data: Uint8Array; params: AugParams }[]; out?: ArrayBuffer }
/** busy: seconds this worker spent on the request (decode + crop), for per-core rates. */
export type ShardWorkReply = { id: number; ok: true; x: Float32Array; busy: number } | { id: number; ok: false; error: string };

const init = workerData as ShardWorkerInit;
sharp.concurrency(1); // parallelism comes from the worker count
sharp.cache(false); // every record is decoded once: libvips' operation cache would only hold memory

async function pixels(data: Uint8Array): Promise<RawImage> {
  const S = init.side;
  if (init.format === 'raw') {
    if (data.length !== S * S * 3) throw new Error(`raw record of ${data.length} bytes, expected ${S}x${S}x3`);
    return { data, width: S, height: S, channels: 3 };
  }
  const img = await loadImage(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { name: 'shard record' });
  if (img.width !== S || img.height !== S) throw new Error(`record decoded to ${img.width}x${img.height}, expected ${S}x${S}`);
  return img;
}

// One request at a time, so `busy` is this request's own time (not its overlap with the next).
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (m: ShardWorkRequest) => { queue = queue.then(() => handle(m)); });

async function handle(m: ShardWorkRequest): Promise<void> {
  const t0 = performance.now();
  try {
    const per = 3 * init.pp.crop * init.pp.crop;
    const len = m.items.length * per;
    const x = m.out && m.out.byteLength >= len * 4 ? new Float32Array(m.out, 0, len) : new Float32Array(len);
    for (let i = 0; i < m.items.length; i++) {
      const p = m.items[i].params;
      writeInput(x, i * per, await pixels(m.items[i].data), init.pp, augInput(p, init.meanImage));
    }
    parentPort!.postMessage({ id: m.id, ok: true, x, busy: (performance.now() - t0) / 1000 } satisfies ShardWorkReply, [x.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, ok: false, error: (err as Error).message } satisfies ShardWorkReply);
  }
}
