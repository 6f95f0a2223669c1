// The ISA cap (ALEXNET_MAX_ISA) and kernel choice by measurement (ALEXNET_CONV=auto|own|dnnl) with its
// per-machine cache. Both are read when the addon loads, so every case runs in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CpuInfo, KernelDecision } from '../../../src/backend/native/addon.ts';
import { SKIP } from './helpers.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'alexnet-kernels-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Probe { info: CpuInfo; kernels: { file: string; timings: number; decisions: KernelDecision[] }; profile: string[]; outs: number[][] }

function probe(env: Record<string, string>): Probe {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/backend/native/kernel-probe.ts'], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ALEXNET_QUIET: '1', ALEXNET_PROFILE: '1', ALEXNET_HOME: path.join(tmp, 'default'), ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe;
}

const RANK = ['none', 'avx2', 'avx512'];
const min = (a: string, b: string) => RANK[Math.min(RANK.indexOf(a), RANK.indexOf(b))];
const byKey = (ds: KernelDecision[]) => [...ds].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
const own = (p: Probe) => p.profile.filter((k) => /winograd|im2col/.test(k));

describe('ALEXNET_MAX_ISA caps our kernels and oneDNN', { skip: SKIP }, () => {
  test('the reported ISA follows the cap; a capped-off ISA runs none of our kernels', () => {
    const free = probe({ ALEXNET_CONV: 'own' });
    assert.ok(RANK.includes(free.info.isaDetected), free.info.isaDetected);
    assert.equal(free.info.isaUsed, free.info.isaDetected);
    assert.equal(free.info.isaCap, 'avx512');
    for (const cap of ['avx2', 'none']) {
      const p = probe({ ALEXNET_MAX_ISA: cap, ALEXNET_CONV: 'own' });
      assert.equal(p.info.isaCap, cap);
      assert.equal(p.info.isaUsed, min(free.info.isaDetected, cap));
      if (process.arch === 'x64') {
        // oneDNN's own report: capped to AVX2, or to SSE4.1 for none
        if (cap === 'avx2' && free.info.isaDetected !== 'none') assert.equal(p.info.dnnlIsa, 'avx2');
        if (cap === 'none') assert.equal(p.info.dnnlIsa, 'sse41');
      }
      // forced own: our kernels run exactly when the capped ISA has them (all of ours are AVX2)
      assert.equal(own(p).length > 0, p.info.isaUsed !== 'none', `${cap}: ${p.profile.join('; ')}`);
    }
  });

  test('the AVX-512 kernels and the AVX2 ones compute the same bits (Winograd forward, dx and dw; conv1)', () => {
    const wide = probe({ ALEXNET_CONV: 'own' }), narrow = probe({ ALEXNET_CONV: 'own', ALEXNET_MAX_ISA: 'avx2' });
    if (wide.info.isaUsed !== 'avx512') return;  // no AVX-512 here: the AVX2 tile runs in both
    assert.equal(narrow.info.isaUsed, 'avx2');
    assert.ok(own(wide).some((k) => /winograd/.test(k)), wide.profile.join('; '));
    // conv1's forward: the AVX-512 direct kernel (conv1_avx512.cc) against the AVX2 phase-split GEMM
    assert.ok(wide.profile.some((k) => /^conv2d 2x3x31x29 \[direct avx512/.test(k)), wide.profile.join('; '));
    assert.ok(narrow.profile.some((k) => /^conv2d 2x3x31x29 \[im2col\+gemm/.test(k)), narrow.profile.join('; '));
    // every output: the Winograd cases' y, dw, db, dx and conv1's y, dw, db
    assert.deepEqual(wide.outs, narrow.outs);
  });

  test('splitting a small Winograd conv across threads (tiles and output channels) leaves the bits alone', () => {
    // the first case, 24 tiles: on 2 threads one chunk split in output channels, on 1 thread unsplit; the second
    // case (kernel-probe.ts): two chunks either way, split on 2 threads
    const one = probe({ ALEXNET_CONV: 'own', ALEXNET_PROBE_THREADS: '1' }), two = probe({ ALEXNET_CONV: 'own' });
    if (one.info.isaUsed === 'none') return;
    assert.ok(two.profile.some((k) => /^conv2d 2x16x13x11 \[winograd/.test(k)), two.profile.join('; '));
    // the first Winograd case's y and dx, conv1's y, the second Winograd case's y and dx
    for (const i of [0, 3, 4, 7, 10]) assert.deepEqual(one.outs[i], two.outs[i], `output ${i}`);
  });

  test('an unknown cap is one clear error', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/backend/native/index.ts').then((m) => m.createNativeBackend()).catch((e) => { console.log('ERR ' + e.message); })"],
      { cwd: root, encoding: 'utf8', env: { ...process.env, ALEXNET_MAX_ISA: 'avx9' } });
    assert.match(r.stdout, /^ERR ALEXNET_MAX_ISA: unknown value 'avx9' \(use avx2, avx512 or none\)$/m, r.stdout + r.stderr);
  });

  // the whole parity suite against ref, under each cap and each forced kernel choice: our kernels at AVX2 and
  // at the machine's ISA (AVX-512 GEMM tiles where it has them), none of ours, oneDNN only
  // (and each fc SGEMM: OpenBLAS with our kernels, oneDNN's with oneDNN's; auto, measured, in the plain run)
  for (const env of [{ ALEXNET_MAX_ISA: 'avx2', ALEXNET_CONV: 'own', ALEXNET_GEMM: 'openblas' }, { ALEXNET_CONV: 'own', ALEXNET_GEMM: 'openblas' },
    { ALEXNET_MAX_ISA: 'none' }, { ALEXNET_CONV: 'dnnl', ALEXNET_GEMM: 'dnnl' }]) {
    const name = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
    test(`parity with ref holds under ${name}`, { timeout: 300_000 }, () => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, ALEXNET_HOME: path.join(tmp, 'parity'), ...env };
      delete childEnv.NODE_TEST_CONTEXT;  // a plain run of its own (TAP on stdout), not a subtest stream of ours
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', 'test/backend/native/parity.test.ts'], { cwd: root, encoding: 'utf8', env: childEnv });
      assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
      const pass = Number(/^# pass (\d+)/m.exec(r.stdout)?.[1]);
      assert.ok(pass >= 30, `only ${pass} passing tests:\n${r.stdout.slice(-1500)}`);
      assert.match(r.stdout, /^# fail 0$/m);
    });
  }
});

describe('kernel choice by measurement', { skip: SKIP }, () => {
  test('auto times each instance once, saves the decisions, and a later run reuses them without timing', () => {
    const env = { ALEXNET_HOME: path.join(tmp, 'cache') };
    const first = probe(env);
    if (first.info.isaUsed === 'none') return;  // no own kernel applies: nothing to choose between
    assert.equal(first.info.conv, 'auto');
    // three convs, forward and backward: six instances, each timed once
    assert.equal(first.kernels.timings, 6, JSON.stringify(first.kernels.decisions));
    assert.equal(first.kernels.decisions.length, 6);
    for (const d of first.kernels.decisions) {
      assert.match(d.key, /^conv2d(Backward)?\|.+\|.+\|t2$/);
      assert.ok(d.ownMs > 0 && d.dnnlMs > 0, d.key);
      // forward: a near tie goes to our kernel (its layout is the one the next own kernels read)
      const margin = d.key.startsWith('conv2d|') ? first.info.convOwnMargin : 1;
      assert.ok(first.info.convOwnMargin > 1 && first.info.convOwnMargin < 1.5, String(first.info.convOwnMargin));
      assert.equal(d.choice, d.ownMs < d.dnnlMs * margin ? 'own' : 'dnnl', d.key);
    }
    assert.ok(first.kernels.file.startsWith(path.join(tmp, 'cache', 'kernels')), first.kernels.file);
    const saved = JSON.parse(readFileSync(first.kernels.file, 'utf8')) as { decisions: KernelDecision[]; dnnlVersion: string };
    assert.deepEqual(byKey(saved.decisions), byKey(first.kernels.decisions));
    assert.equal(saved.dnnlVersion, first.info.dnnlVersion);

    const second = probe(env);
    assert.equal(second.kernels.timings, 0, 'the second run timed again');
    assert.deepEqual(byKey(second.kernels.decisions), byKey(first.kernels.decisions));
    // the same choices compute the same bits
    assert.deepEqual(second.outs, first.outs);

    // a damaged cache is reported and replaced
    writeFileSync(first.kernels.file, '{"version": 1, "decisions": [');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/backend/native/kernel-probe.ts'], {
      cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env, ALEXNET_QUIET: '' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /kernel cache .+ is unreadable .+; timing kernels again/);
    const third = JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe;
    assert.equal(third.kernels.timings, 6);
    assert.equal((JSON.parse(readFileSync(first.kernels.file, 'utf8')) as { decisions: unknown[] }).decisions.length, 6);
  });

  test('forced choices run the forced kernel, and agree with each other like any two kernels against ref', () => {
    const env = { ALEXNET_HOME: path.join(tmp, 'forced') };
    const o = probe({ ...env, ALEXNET_CONV: 'own' }), d = probe({ ...env, ALEXNET_CONV: 'dnnl' });
    assert.equal(o.kernels.timings + d.kernels.timings, 0, 'forced modes time nothing');
    assert.equal(own(d).length, 0, d.profile.join('; '));
    if (o.info.isaUsed !== 'none') assert.ok(own(o).length > 0, o.profile.join('; '));
    assert.ok(!existsSync(path.join(tmp, 'forced', 'kernels')) || o.kernels.decisions.length === 0);
    // each is within nativeVsRef of ref (parity tests above); against each other allow twice that
    for (let i = 0; i < o.outs.length; i++) {
      for (let j = 0; j < o.outs[i].length; j++) {
        const a = o.outs[i][j], b = d.outs[i][j];
        assert.ok(Math.abs(a - b) <= 2 * (1e-4 + 1e-3 * Math.abs(b)), `output ${i}[${j}]: own ${a} vs oneDNN ${b}`);
      }
    }
  });
});
