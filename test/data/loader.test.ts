import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGENET_LIGHTING } from '../../src/data/augment.ts';
import type { CachedSplit } from '../../src/data/cache.ts';
import { BatchLoader } from '../../src/data/loader.ts';

function fakeSplit(n: number, side: number): CachedSplit {
  const pixels = new Uint8Array(new SharedArrayBuffer(n * side * side * 3)).map((_, i) => (i * 13) % 256);
  return { side, n, labels: Int32Array.from({ length: n }, (_, i) => i % 3), files: [], pixels, bad: [], classes: ['a', 'b', 'c'], classNames: ['a', 'b', 'c'], file: '' };
}
const pp = { resize: 10, crop: 8, mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.25, 0.25, 0.25] as [number, number, number] };

test('worker-thread batches equal in-thread batches, every image once per epoch', async () => {
  const data = fakeSplit(21, 10);
  const a = new BatchLoader(data, pp, { batch: 8, seed: 5, lighting: IMAGENET_LIGHTING, worker: true });
  const b = new BatchLoader(data, pp, { batch: 8, seed: 5, lighting: IMAGENET_LIGHTING, worker: false });
  try {
    assert.equal(a.stepsPerEpoch, 3);
    for (const [e, k] of [[0, 0], [0, 1], [0, 2], [1, 0]]) {
      const x = await a.get(e, k), y = await b.get(e, k);
      assert.deepEqual(x.labels, y.labels);
      assert.deepEqual(x.x, y.x);
    }
    const seen = [0, 1, 2].flatMap((k) => Array.from(a.plan(0, k).indices));
    assert.deepEqual(seen.sort((p, q) => p - q), Array.from({ length: 21 }, (_, i) => i));
    assert.equal((await a.get(0, 2)).n, 5, 'the last batch holds the remainder');
  } finally { a.close(); b.close(); }
});

test('eval batches cover the split in order with the centre view', async () => {
  const data = fakeSplit(10, 10);
  const l = new BatchLoader(data, pp, { batch: 4, seed: 0, worker: true });
  try {
    const starts: number[] = [], labels: number[] = [];
    for await (const b of l.evalBatches('center')) { starts.push(b.start); labels.push(...b.labels); }
    assert.deepEqual(starts, [0, 4, 8]);
    assert.deepEqual(labels, Array.from(data.labels));
  } finally { l.close(); }
});
