// Random corruption of every weights format: each mutated file either loads or throws an Error; the
// loader never crashes, hangs or allocates without bound (the test has a deadline).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeWeights } from '../../src/io/weights.ts';
import { exportOnnx } from '../../src/io/onnx.ts';
import { encodeSafetensors } from '../../src/io/safetensors.ts';
import { metaToStrings } from '../../src/io/weights.ts';
import { randomStateDict, metaFor } from './helpers.ts';

process.env.ALEXNET_QUIET = '1';
const fx = (n: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/io/${n}`, import.meta.url))));

test('1200 random corruptions (bytes flipped, truncated, spliced) never crash or hang', { timeout: 120_000 }, async () => {
  const sd = randomStateDict('torchvision', 1 / 16, 8, 3);
  const seeds: [string, Uint8Array][] = [
    ['safetensors', encodeSafetensors(sd, metaToStrings(metaFor('torchvision', 3, { widthScale: 1 / 16, hidden: 8 })))],
    ['pth', fx('tv_small.pth')],
    ['onnx', exportOnnx(sd, metaFor('torchvision', 3, { widthScale: 1 / 16, hidden: 8 }))],
    ['zoo onnx', fx('zoo_like_caffe.onnx')],
  ];
  let s = 12345;
  const rnd = (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s % n; };
  let loaded = 0, refused = 0;
  for (const [name, good] of seeds) {
    for (let it = 0; it < 300; it++) {
      const b = new Uint8Array(good);
      const kind = it % 3;
      let bytes: Uint8Array;
      // mutations concentrate on the first KB (headers, pickle, graph structure) half the time
      const pos = () => (rnd(2) ? rnd(Math.min(1024, b.length)) : rnd(b.length));
      if (kind === 0) { for (let k = 0; k < 1 + rnd(8); k++) b[pos()] = rnd(256); bytes = b; }
      else if (kind === 1) bytes = b.subarray(0, pos());
      else { const a = pos(), c = pos(); bytes = new Uint8Array([...b.subarray(0, Math.min(a, c)), ...b.subarray(Math.max(a, c))]); }
      try {
        await decodeWeights(bytes, `${name}#${it}`);
        loaded++;
      } catch (e) {
        assert.ok(e instanceof Error, `${name}#${it}: threw a non-Error ${String(e)}`);
        // engine errors (TypeError, RangeError) mean a check is missing somewhere
        assert.ok(!(e instanceof TypeError || e instanceof RangeError), `${name}#${it}: ${e.name}: ${e.message}`);
        assert.ok(e.message.startsWith(`${name}#${it}`), `${name}#${it}: error does not name the file: ${e.message}`);
        refused++;
      }
    }
  }
  assert.equal(loaded + refused, 1200);
  assert.ok(refused > 600, `only ${refused} refused`);
});
