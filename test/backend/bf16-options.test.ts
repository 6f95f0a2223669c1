// The precision option where users meet it: createModel, load(), `alexnet predict --precision`, and the
// one-line note when the backend has no bf16 path.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { load } from '../../src/api.ts';
import { loadAddon } from '../../src/backend/native/addon.ts';
import { backendPrecision, bf16Support } from '../../src/backend/native/precision.ts';
import { createRefBackend } from '../../src/backend/ref/index.ts';
import { createModel } from '../../src/model/index.ts';
import { ROOT } from '../data/helpers.ts';
import { image, smallWeights } from '../server/helpers.ts';
import { SKIP as NO_ADDON } from './native/helpers.ts';

const support = NO_ADDON ? undefined : bf16Support(loadAddon());
const NO_BF16: string | false = NO_ADDON || (support!.available ? false : `SKIP: AVX512_BF16/AMX missing (${support!.why})`);
const small = { variant: 'torchvision', classes: 4, widthScale: 0.25, hidden: 16 } as const;

async function warnings<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const orig = console.warn;
  const quiet = process.env.ALEXNET_QUIET;
  delete process.env.ALEXNET_QUIET;
  console.warn = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    return { value: await fn(), lines };
  } finally {
    console.warn = orig;
    if (quiet !== undefined) process.env.ALEXNET_QUIET = quiet;
  }
}

test('createModel on ref with precision bf16: one line says fp32, and it runs fp32', async () => {
  const { value: m, lines } = await warnings(() => createModel({ ...small, backend: 'ref', precision: 'bf16' }));
  try {
    assert.deepEqual(lines, ['[alexnet] precision bf16: the ref backend computes in fp32 only (bf16 needs the native backend); running fp32']);
    assert.equal(backendPrecision(m.backend), 'fp32');
  } finally {
    m.dispose();
  }
});

test('createModel with a backend instance refuses a precision other than the instance\'s', async () => {
  const be = createRefBackend();
  try {
    await assert.rejects(createModel({ ...small, backend: be, precision: 'bf16' }), /^Error: createModel: precision applies to a backend createModel creates .*the ref backend passed in computes in fp32/);
    const m = await createModel({ ...small, backend: be, precision: 'fp32' });
    m.dispose();
  } finally {
    be.dispose();
  }
});

test('load({ precision: "bf16" }) classifies on a bf16 native backend', { skip: NO_BF16 }, async () => {
  const { file, dir } = await smallWeights();
  try {
    const m = await load({ weights: file, backend: 'native', precision: 'bf16', threads: 2 });
    try {
      assert.equal(backendPrecision(m.model.backend), 'bf16');
      const p = await m.classify(await image(40, 30, 1), 3);
      assert.equal(p.length, 3);
      assert.ok(p.every((q) => q.probability > 0 && q.probability < 1), JSON.stringify(p));
    } finally {
      m.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alexnet predict --precision: bf16 runs, an unknown value is refused in one line', { skip: NO_BF16 }, async () => {
  const { file, dir } = await smallWeights();
  try {
    const img = path.join(dir, 'x.png');
    writeFileSync(img, await image(40, 30, 2));
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), 'predict', '--weights', file, '--backend', 'native', '--json', ...args, img],
      { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ALEXNET_QUIET: '1' } });
    const ok = cli('--precision', 'bf16');
    assert.equal(ok.status, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { backend: string; predictions: unknown[] }[];
    assert.equal(out[0].backend, 'native');
    assert.equal(out[0].predictions.length, 5);
    const bad = cli('--precision', 'fp16');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr.trim().split('\n')[0], /^alexnet: option '--precision <p>' argument 'fp16' is invalid\. Allowed choices are fp32, bf16\.$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
