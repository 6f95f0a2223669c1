// torchvision-style .pth files written by PyTorch 1.13 (tools/gen_interchange_fixtures.py) load through the
// restricted unpickler and give PyTorch's logits; hostile and malformed files are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadWeights } from '../../src/io/weights.ts';
import { readPth, writePth } from '../../src/io/pth.ts';
import { createModel } from '../../src/model/index.ts';
import { readFixture, havePythonTorch, missingPython, pythonPath } from '../helpers/fixture.ts';
import { TOL, assertClose } from '../tolerances.ts';
import { FIXTURES, formulaInput } from './helpers.ts';

process.env.ALEXNET_QUIET = '1';
const fx = (n: string) => fileURLToPath(new URL(n, FIXTURES));
const dir = mkdtempSync(join(tmpdir(), 'alexnet-pth-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function logitsOf(file: string, size: number, batch: number, backend: 'ref' | 'auto' = 'ref') {
  const { sd, meta } = await loadWeights(file);
  const m = await createModel({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden, backend });
  try {
    await m.loadStateDict(sd);
    const x = formulaInput(batch * 3 * size * size);
    return { logits: await m.forward(x, [batch, 3, size, size]), fc7: await m.embed(x, [batch, 3, size, size]), meta };
  } finally { m.dispose(); }
}

for (const stem of ['tv_small', 'paper_small']) {
  test(`${stem}.pth (torch 1.13) loads and gives PyTorch's logits and fc7`, async () => {
    const ref = readFixture(fx(`${stem}.logits.bin`));
    assert.match(ref.generatedBy, /gen_interchange_fixtures/);
    const r = await logitsOf(fx(`${stem}.pth`), ref.meta.size as number, ref.meta.batch as number);
    assert.equal(r.meta.variant, ref.meta.variant);
    assert.equal(r.meta.widthScale, ref.meta.widthScale);
    assertClose(r.logits, ref.f32('logits'), TOL.refVsTorchModel, `${stem} logits`);
    assertClose(r.fc7, ref.f32('fc7'), TOL.refVsTorchModel, `${stem} fc7`);
  });
}

test('hostile pickles (os.system, builtins.eval) are refused by name and never run', async () => {
  const marker = '/tmp/alexnet-pwned';
  rmSync(marker, { force: true });
  await assert.rejects(loadWeights(fx('hostile_os_system.pth')), /global posix\.system, which is not allowed/);
  await assert.rejects(loadWeights(fx('hostile_eval.pth')), /global (__builtin__|builtins)\.eval, which is not allowed/);
  assert.equal(existsSync(marker), false);
});

test('forbidden opcodes and legacy bare pickles are refused with the opcode named', () => {
  // protocol 2: INST-free but uses NEWOBJ; and a bare pickle with GLOBAL os.system
  const newobj = Uint8Array.from([0x80, 2, 0x63, ...Buffer.from('collections\nOrderedDict\n'), 0x29, 0x81, 0x2e]);
  assert.throws(() => readPth(newobj, 'x'), /opcode NEWOBJ \(0x81\) at byte \d+ is not allowed/);
  const inst = Uint8Array.from([0x80, 2, 0x28, 0x69, ...Buffer.from('os\nsystem\n'), 0x2e]);
  assert.throws(() => readPth(inst, 'x'), /opcode INST/);
  const bare = Uint8Array.from([0x80, 2, 0x63, ...Buffer.from('os\nsystem\n'), 0x58, 2, 0, 0, 0, 0x6c, 0x73, 0x85, 0x52, 0x2e]);
  assert.throws(() => readPth(bare, 'x'), /global os\.system/);
  const legacy = Uint8Array.from([0x80, 2, 0x8a, 2, 0x6c, 0xfc, 0x2e]); // torch's legacy magic number pickle
  assert.throws(() => readPth(legacy, 'x'), /legacy \(pre-1\.6/);
});

test('truncated and corrupt .pth files give clear errors', async () => {
  const good = readFileSync(fx('tv_small.pth'));
  const cases: [string, Uint8Array, RegExp][] = [
    ['cut in half', good.subarray(0, good.length >> 1), /end-of-central-directory not found|truncated/],
    ['cut before central directory end', good.subarray(0, good.length - 10), /end-of-central-directory not found/],
    ['pickle bytes garbled', (() => { const b = Buffer.from(good); const i = b.indexOf('features.0.weight'); b.fill(0xff, i - 10, i + 40); return b; })(), /pickle/],
    ['storage missing', (() => { const b = Buffer.from(good); const i = b.lastIndexOf('/data/0'); b.write('/data/Z', i); return b; })(), /storage .*data\/0 is missing|no local header|corrupt/],
  ];
  for (const [name, bytes, re] of cases) {
    const f = join(dir, `bad-${name.replace(/\W/g, '_')}.pth`);
    writeFileSync(f, bytes);
    await assert.rejects(loadWeights(f), re, name);
  }
});

test('writePth round trip: our .pth loads in our reader and in torch.load', async () => {
  const sd = readPth(new Uint8Array(readFileSync(fx('paper_small.pth'))), 'p');
  const f = join(dir, 'ours.pth');
  writeFileSync(f, writePth(sd));
  const back = readPth(new Uint8Array(readFileSync(f)), f);
  for (const k of Object.keys(sd)) assert.deepEqual(back[k], sd[k], k);
  if (!havePythonTorch()) { console.log('SKIP: python3-torch missing; torch.load check skipped'); return; }
  const py = spawnSync(pythonPath(), ['-c', `import torch,sys\na=torch.load(sys.argv[1]);b=torch.load(sys.argv[2])\nassert list(a)==list(b)\nassert all(torch.equal(a[k],b[k]) for k in a)\nprint('ok')`, fx('paper_small.pth'), f], { encoding: 'utf8' });
  assert.equal(py.stdout.trim(), 'ok', py.stderr);
});

test('full-size torchvision .pth written by PyTorch gives its logits', { timeout: 600_000 }, async (t) => {
  const missing = missingPython('torch', 'torchvision'); // --full builds torchvision.models.alexnet
  if (missing.length) { t.skip(`SKIP: ${missing.join(', ')} missing (ALEXNET_PYTHON or /usr/bin/python3)`); return; }
  const gen = spawnSync(pythonPath(), [fileURLToPath(new URL('../../tools/gen_interchange_fixtures.py', import.meta.url)), '--full', dir], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const ref = readFixture(join(dir, 'full_torchvision.logits.bin'));
  const r = await logitsOf(join(dir, 'full_torchvision.pth'), 224, 2, 'auto');
  assert.equal(r.meta.variant, 'torchvision');
  assert.equal(r.meta.widthScale, undefined);
  assertClose(r.logits, ref.f32('logits'), TOL.fullModelLogits, 'full torchvision logits');
  // torch.onnx.export of the same weights imports to the identical state_dict
  const a = await loadWeights(join(dir, 'full_torchvision.pth')), b = await loadWeights(join(dir, 'full_torchvision.onnx'));
  assert.equal(b.format, 'onnx');
  assert.deepEqual(b.warnings, []);
  for (const k of Object.keys(a.sd)) assert.ok(b.sd[k] && a.sd[k].data.every((v, i) => v === b.sd[k].data[i]), `${k} differs after torch.onnx.export`);
});

test('committed fixtures are what tools/gen_interchange_fixtures.py writes (weights byte for byte)', { timeout: 120_000 }, async (t) => {
  const missing = missingPython('torch', 'onnx'); // the ONNX fixtures are built with onnx.helper
  if (missing.length) { t.skip(`SKIP: ${missing.join(', ')} missing`); return; }
  const out = join(dir, 'regen');
  const gen = spawnSync(pythonPath(), [fileURLToPath(new URL('../../tools/gen_interchange_fixtures.py', import.meta.url)), '--out', out], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  for (const f of ['tv_small.pth', 'paper_small.pth', 'zoo_like_paper.onnx', 'zoo_like_caffe.onnx']) {
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(fx(f))), `${f} differs from a fresh generation`);
  }
  // PyTorch's outputs: the same tensors, equal up to the last bits of the CPU's kernels
  for (const f of ['tv_small.logits.bin', 'paper_small.logits.bin']) {
    const fresh = readFixture(join(out, f)), committed = readFixture(fx(f));
    assert.deepEqual([...fresh.tensors.keys()], [...committed.tensors.keys()], f);
    assert.deepEqual(fresh.meta, committed.meta, f);
    for (const k of committed.tensors.keys()) assertClose(fresh.f32(k), committed.f32(k), TOL.torchRegenerated, `${f} ${k}`);
  }
});
