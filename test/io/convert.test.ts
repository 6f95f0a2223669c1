// alexnet convert: every direction between safetensors, ONNX and .pth, detected by content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convert } from '../../src/cli/convert.ts';
import { loadWeights } from '../../src/io/weights.ts';

process.env.ALEXNET_QUIET = '1';
const dir = mkdtempSync(join(tmpdir(), 'alexnet-conv-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const pth = fileURLToPath(new URL('../fixtures/io/paper_small.pth', import.meta.url));

test('pth -> safetensors (labels) -> onnx -> pth -> safetensors keeps the tensors; misleading extensions do not matter', async () => {
  const labels = join(dir, 'labels.txt');
  writeFileSync(labels, Array.from({ length: 10 }, (_, i) => `n0${1000000 + i} thing ${i}, other name`).join('\n') + '\n');
  const st = join(dir, 'a.safetensors'), onnx = join(dir, 'a.onnx'), back = join(dir, 'b.pth'), st2 = join(dir, 'c.safetensors');
  assert.match(await convert(pth, st, { labels }), /\(pth\) -> .*\(safetensors, .* paper AlexNet, widthScale 0\.125, 10 classes, input 227x227/);
  const disguised = join(dir, 'really-onnx.safetensors');
  await convert(st, onnx, {});
  copyFileSync(onnx, disguised);
  assert.match(await convert(disguised, back, {}), /\(onnx\) -> .*\(pth/);
  await convert(back, st2, { variant: 'paper' });
  const a = await loadWeights(pth), b = await loadWeights(st), c = await loadWeights(st2);
  assert.equal(b.meta.classNames[3], 'thing 3, other name');
  for (const k of Object.keys(a.sd)) { assert.deepEqual(b.sd[k], a.sd[k], k); assert.deepEqual(c.sd[k], a.sd[k], k); }
});

test('bad requests name the problem', async () => {
  await assert.rejects(convert(pth, join(dir, 'x.bin'), {}), /cannot tell the output format/);
  await assert.rejects(convert(pth, join(dir, 'x.onnx'), { variant: 'torchvision' }), /variant torchvision requested but the tensor shapes are a paper AlexNet/);
  await assert.rejects(convert(pth, join(dir, 'x.onnx'), { classes: '7' }), /7 classes requested but classifier\.6\.weight has 10 rows/);
  await assert.rejects(convert(pth, join(dir, 'x.onnx'), { size: '300' }), /cannot be adaptive-pooled|multiple of 6/);
  const cli = spawnSync(process.execPath, [fileURLToPath(new URL('../../bin/alexnet.mjs', import.meta.url)), 'convert', fileURLToPath(new URL('../fixtures/io/hostile_eval.pth', import.meta.url)), join(dir, 'y.onnx')], { encoding: 'utf8', env: { ...process.env, ALEXNET_QUIET: '1' } });
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /^alexnet: .*eval, which is not allowed in a weights file/m);
});
