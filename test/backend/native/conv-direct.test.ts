// The direct convolution (addon/src/conv_direct.cc) against ref, forced (ALEXNET_CONV=own ALEXNET_OWN_KERNEL=direct)
// at the machine's ISA and under the AVX2 cap, and its place in the kernel choice: an own alternative timed beside
// Winograd, its index recorded, a cached decision from before the alternatives timed again. The ISA cap and the
// forcing are read when the addon loads, so every case runs in a child process (conv-direct-probe.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CpuInfo, KernelDecision } from '../../../src/backend/native/addon.ts';
import { kernelCacheFile } from '../../../src/backend/native/kernels.ts';
import { assertClose, TOL } from '../../tolerances.ts';
import { DIRECT_CASES } from './conv-direct-cases.ts';
import { SKIP } from './helpers.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'alexnet-direct-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Probe {
  info: CpuInfo; profile: string[]; kernels: { file: string; timings: number; decisions: KernelDecision[] };
  results: { name: string; nat: number[]; ref: number[] }[];
}

function probe(env: Record<string, string>): Probe {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/backend/native/conv-direct-probe.ts'], {
    cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ALEXNET_QUIET: '1', ALEXNET_PROFILE: '1', ALEXNET_HOME: path.join(tmp, 'forced'), ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe;
}

const forced = { ALEXNET_CONV: 'own', ALEXNET_OWN_KERNEL: 'direct' };
// the input the direct conv sees: the case's x, or the output of the conv ahead
const inDims = (c: (typeof DIRECT_CASES)[number]) => (c.before ? [c.x[0], c.before[0], c.x[2], c.x[3]] : c.x).join('x');

describe('direct convolution vs ref', { skip: SKIP }, () => {
  for (const cap of ['', 'avx2']) {
    test(`forced direct, ${cap ? 'ALEXNET_MAX_ISA=avx2' : "the machine's ISA"}: every case against ref`, { timeout: 120_000 }, () => {
      const p = probe(cap ? { ...forced, ALEXNET_MAX_ISA: cap } : forced);
      if (p.info.isaUsed === 'none') return;  // no AVX2: the kernel does not apply (the stubs' "false")
      for (const c of DIRECT_CASES) {
        const key = `conv2d ${inDims(c)} [direct ${c.w[2]}x${c.w[3]}${c.stride ? ` s${c.stride}` : ''} ${p.info.isaUsed}`;
        assert.ok(p.profile.some((k) => k.startsWith(key)), `${c.name}: no ${key} in ${p.profile.join('; ')}`);
        const r = p.results.find((x) => x.name === c.name)!;
        assertClose(r.nat, r.ref, TOL.nativeVsRef, c.name);
        let scale = 0;
        for (const v of r.ref) scale = Math.max(scale, Math.abs(v));
        assert.ok(scale > 0.1, `${c.name}: reference is not trivially small`);
        assertClose(r.nat.map((v) => v / scale), r.ref.map((v) => v / scale), TOL.directScaled, `${c.name} / max|ref|`);
      }
      // oneDNN's AVX-512 convolution ahead leaves nChw16c, which the kernel reads without a reorder
      if (p.info.isaUsed === 'avx512') assert.ok(p.profile.some((k) => /^conv2d 1x64x15x15 \[direct 3x3 avx512, nChw16c input\]/.test(k)), p.profile.join('; '));
    });
  }

  test('AVX-512 and AVX2, one thread and two: the same bits', { timeout: 120_000 }, () => {
    const env = { ...forced, ALEXNET_PROBE_REF: '0' };
    const wide = probe(env), narrow = probe({ ...env, ALEXNET_MAX_ISA: 'avx2' }), one = probe({ ...env, ALEXNET_PROBE_THREADS: '1' });
    if (narrow.info.isaUsed === 'none') return;
    for (const c of DIRECT_CASES) {
      const [w, n, o] = [wide, narrow, one].map((p) => p.results.find((x) => x.name === c.name)!.nat);
      assert.deepEqual(o, w, `${c.name}: 1 thread vs 2`);
      // a conv ahead on oneDNN computes its own bits per ISA: only the cases without one compare across ISAs
      if (!c.before) assert.deepEqual(n, w, `${c.name}: AVX2 vs ${wide.info.isaUsed}`);
    }
  });
});

describe('the direct kernel in the kernel choice', { skip: SKIP }, () => {
  test('auto times it beside Winograd and records which of ours won; a cached decision without that index is timed again', { timeout: 120_000 }, () => {
    const home = path.join(tmp, 'auto');
    const env = { ALEXNET_HOME: home, ALEXNET_PROBE_REF: '0' };
    const first = probe(env);
    if (first.info.isaUsed === 'none') return;
    const convs = first.kernels.decisions.filter((d) => d.key.startsWith('conv2d|'));
    assert.ok(convs.length >= DIRECT_CASES.length, JSON.stringify(convs));
    for (const d of convs) {
      // every forward conv here has Winograd or conv1's kernels as own (alt 0) and the direct kernel as alt 1
      assert.ok(d.alt === 0 || d.alt === 1, `${d.key}: alt ${d.alt}`);
      // batch 1 is timed cold, every candidate here names its weights, so later rounds flush just those; batch 2 warm
      assert.equal(d.trial, d.key.startsWith('conv2d|1x') ? 'weights' : 'warm', d.key);
      if (d.choice === 'own' && d.alt === 1) assert.match(d.kernel ?? '', /^direct \d+x\d+ /, d.key);
      if (d.choice === 'own' && d.alt === 0) assert.doesNotMatch(d.kernel ?? '', /^direct \d+x\d+ /, d.key);
    }
    // the decisions as a cache file from before the alternatives (no alt): each conv with alternatives is timed again
    const file = kernelCacheFile(first.info, { ...process.env, ALEXNET_HOME: home });
    assert.equal(first.kernels.file, file);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { decisions: KernelDecision[] };
    const legacy = doc.decisions.map(({ alt: _alt, ...d }) => d);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ ...doc, decisions: legacy }));
    const second = probe(env);
    assert.equal(second.kernels.timings, convs.length, 'timed again: the forward convs (all have the direct alternative)');
    for (const d of second.kernels.decisions) if (d.key.startsWith('conv2d|')) assert.ok(d.alt === 0 || d.alt === 1, d.key);
    // and with the index recorded, a third run times nothing
    const third = probe(env);
    assert.equal(third.kernels.timings, 0);
  });
});
