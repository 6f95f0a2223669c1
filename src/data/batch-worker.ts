// Batch worker: assembles augmented float batches from the shared uint8 cache, ahead of the trainer.
import { parentPort, workerData } from 'node:worker_threads';
import type { Preprocessing } from '../model/types.ts';
import { writeBatch, type AugParams } from './augment.ts';

export interface BatchWorkerInit { pixels: Uint8Array; labels: Int32Array; side: number; pp: Preprocessing; meanImage?: Float32Array }
export interface BatchRequest { id: number; indices: Int32Array; params: AugParams[] }
export interface BatchReply { id: number; x: Float32Array; labels: Int32Array }

const init = workerData as BatchWorkerInit;
parentPort!.on('message', (m: BatchRequest) => {
  const x = new Float32Array(m.indices.length * 3 * init.pp.crop * init.pp.crop);
  const labels = new Int32Array(m.indices.length);
  writeBatch(x, labels, init, m.indices, m.params, init.pp, init.meanImage);
  parentPort!.postMessage({ id: m.id, x, labels } satisfies BatchReply, [x.buffer, labels.buffer]);
});
