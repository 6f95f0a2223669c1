// f16 weights: the binary16 encoder (every half value round-trips; ties go to even; overflow and underflow
// where IEEE puts them) and `alexnet convert --dtype f16`, whose file is half the size and reads back within
// the f16 rounding bound of the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convert } from '../../src/cli/convert.ts';
import { floatToHalf, floatsToHalves, halfToFloat, halvesToFloats } from '../../src/io/half.ts';
import { encodeSafetensors, readSafetensorsHeader } from '../../src/io/safetensors.ts';
import { loadWeights } from '../../src/io/weights.ts';
import { TOL, assertClose } from '../tolerances.ts';

process.env.ALEXNET_QUIET = '1';
const dir = mkdtempSync(join(tmpdir(), 'alexnet-f16-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const pth = fileURLToPath(new URL('../fixtures/io/paper_small.pth', import.meta.url));

test('floatToHalf: every half value round-trips; halfway cases go to even; range ends as IEEE 754 says', () => {
  for (let h = 0; h < 65536; h++) {
    const x = halfToFloat(h);
    if (Number.isNaN(x)) assert.ok(Number.isNaN(halfToFloat(floatToHalf(x))), `NaN ${h.toString(16)}`);
    else assert.equal(floatToHalf(x), h, `half ${h.toString(16)} (${x})`);
  }
  // 1 + 2^-11 is halfway between 1 (0x3c00, even) and 1 + 2^-10 (0x3c01): to even; a hair above goes up
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00);
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(floatToHalf(1 + 2 ** -11 + 2 ** -20), 0x3c01);
  assert.equal(floatToHalf(65504), 0x7bff);
  assert.equal(floatToHalf(65519), 0x7bff);
  assert.equal(floatToHalf(65520), 0x7c00); // the tie above the largest half rounds to infinity
  assert.equal(floatToHalf(-Infinity), 0xfc00);
  assert.equal(floatToHalf(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(floatToHalf(2 ** -25), 0x0000); // halfway to it: to even (zero)
  assert.equal(floatToHalf(2 ** -25 + 2 ** -35), 0x0001);
  assert.equal(floatToHalf(3 * 2 ** -25), 0x0002); // subnormal tie 1.5 ulp -> 2 (even)
  assert.equal(floatToHalf(-0), 0x8000);
  assert.equal(floatToHalf(2 ** -14 - 2 ** -26), 0x0400); // rounds up out of the subnormals
  const xs = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i) * 10 ** ((i % 13) - 8));
  assertClose(halvesToFloats(floatsToHalves(xs)), xs, TOL.f16Weights, 'floats -> halves -> floats');
});

test('a finite weight beyond the f16 range is refused with its tensor named', () => {
  assert.throws(() => encodeSafetensors({ 'features.0.weight': { shape: [2], data: Float32Array.of(1, 70000) } }, {}, 'F16'), /features\.0\.weight: value 70000 at index 1 is beyond the f16 range/);
});

test('alexnet convert W -o W16.safetensors --dtype f16: F16 tensors, half the size, within the f16 bound, same metadata', async () => {
  const st = join(dir, 'w.safetensors'), st16 = join(dir, 'w16.safetensors');
  await convert(pth, st, {});
  const cli = spawnSync(process.execPath, [fileURLToPath(new URL('../../bin/alexnet.mjs', import.meta.url)), 'convert', st, '-o', st16, '--dtype', 'f16'], { encoding: 'utf8', env: { ...process.env, ALEXNET_QUIET: '1' } });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /\(safetensors\) -> .*w16\.safetensors \(safetensors f16, /);
  const bytes = new Uint8Array(readFileSync(st16));
  const { entries } = readSafetensorsHeader(bytes, st16);
  assert.ok(entries.length > 0 && entries.every((e) => e.dtype === 'F16'), 'every tensor stored as F16');
  const ratio = statSync(st16).size / statSync(st).size;
  assert.ok(ratio > 0.49 && ratio < 0.52, `f16 file is ${ratio.toFixed(3)} of the f32 one`);
  const a = await loadWeights(st), b = await loadWeights(st16);
  assert.deepEqual(b.meta, a.meta);
  let changed = 0;
  for (const k of Object.keys(a.sd)) {
    assert.deepEqual(b.sd[k].shape, a.sd[k].shape, k);
    assertClose(b.sd[k].data, a.sd[k].data, TOL.f16Weights, k);
    changed += b.sd[k].data.some((v, i) => v !== a.sd[k].data[i]) ? 1 : 0;
  }
  assert.ok(changed > 0, 'the values were really rounded to f16');
});

test('--dtype f16 is refused for ONNX and .pth outputs, and two different outputs are refused', async () => {
  await assert.rejects(convert(pth, join(dir, 'x.onnx'), { dtype: 'f16' }), /--dtype f16 is for safetensors output; .*x\.onnx would be onnx/);
  const cli = spawnSync(process.execPath, [fileURLToPath(new URL('../../bin/alexnet.mjs', import.meta.url)), 'convert', pth, join(dir, 'a.safetensors'), '-o', join(dir, 'b.safetensors')], { encoding: 'utf8', env: { ...process.env, ALEXNET_QUIET: '1' } });
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /^alexnet: two output files given/m);
});
