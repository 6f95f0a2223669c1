// Both FULL-size variants (61M parameters) forward against PyTorch on the same seeded random weights.
// The weights, inputs and PyTorch logits are generated at test time by tools/gen_model_fixtures.py --full
// into a temporary directory (nothing large is committed); skipped when python3-torch is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { ADDON_PATH } from '../../src/backend/native/addon.ts';
import { createNativeBackend } from '../../src/backend/native/index.ts';
import { createRefBackend } from '../../src/backend/ref/index.ts';
import { createModel } from '../../src/model/index.ts';
import type { StateDict } from '../../src/model/index.ts';
import { missingPython, pythonPath, readFixture } from '../helpers/fixture.ts';
import { TOL, assertClose } from '../tolerances.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const missing = missingPython('torch', 'torchvision'); // the torchvision variant is torchvision.models.alexnet
const skip = missing.length ? `SKIP: ${missing.join(', ')} missing (${pythonPath()} cannot import them)` : false;
let dir = '';

before(() => {
  if (skip) return;
  dir = mkdtempSync(path.join(tmpdir(), 'alexnet-full-'));
  const r = spawnSync(pythonPath(), [path.join(root, 'tools/gen_model_fixtures.py'), '--full', dir, '--seed', '7', '--batch', '1'],
    { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `gen_model_fixtures.py --full failed: ${r.stderr || r.error}`);
});

after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

// native runs the full-size shapes through its own kernels (Winograd conv2-conv5, im2col conv1)
const backends = { ref: () => createRefBackend(), native: () => createNativeBackend({ threads: 2 }) };
for (const [bname, make] of Object.entries(backends)) for (const variant of ['paper', 'torchvision'] as const) {
  const bskip = skip || (bname === 'native' && !existsSync(ADDON_PATH) ? 'SKIP: native addon not built (npm run build:addon)' : false);
  test(`full-size ${variant} on ${bname}: logits match PyTorch on the same weights`, { skip: bskip }, async (t) => {
    const fx = readFixture(path.join(dir, `${variant}.bin`));
    const model = await createModel({ variant, backend: make() });
    assert.equal(model.paramCount, variant === 'paper' ? 60_965_224 : 61_100_840);
    const names = (fx.meta as { params: string[] }).params;
    assert.deepEqual(model.params.map((e) => e.name), names, 'state_dict names and order');
    const sd: StateDict = {};
    for (const n of names) sd[n] = { shape: fx.shape(`param.${n}`), data: fx.f32(`param.${n}`) };
    await model.loadStateDict(sd);
    const xs = fx.shape('x');
    const logits = await model.forward(fx.f32('x'), [xs[0], xs[1], xs[2], xs[3]]);
    const want = fx.f32('logits');
    assert.equal(logits.length, want.length);
    assert.ok(want.some((v) => Math.abs(v) > 1e-3), 'reference logits are not trivially zero');
    let worst = 0, scale = 0;
    for (let i = 0; i < want.length; i++) { worst = Math.max(worst, Math.abs(logits[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
    t.diagnostic(`max |ours - torch| = ${worst.toExponential(2)} (max |logit| ${scale.toExponential(2)})`);
    assertClose(logits, want, TOL.fullModelLogits, `full-size ${variant} logits`);
    // torchvision's default init gives small logits: also compare at unit scale so atol cannot hide errors
    assertClose(logits.map((v) => v / scale), want.map((v) => v / scale), TOL.fullModelLogits, `full-size ${variant} logits / max|logit|`);
    model.dispose();
  });
}
