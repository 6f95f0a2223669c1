// The batched fc forward on our AVX-512 tiles (addon/src/fc_gemm.cc) against ref, forced (ALEXNET_GEMM=openblas
// ALEXNET_OWN_KERNEL=fc16), at the machine's ISA and under the AVX2 cap (where it does not apply and OpenBLAS
// runs), and its place in the kernel choice: an own alternative timed beside OpenBLAS and oneDNN, its index
// recorded. The forcing and the cap are read when the addon loads, so every case runs in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CpuInfo, KernelDecision } from '../../../src/backend/native/addon.ts';
import { assertClose, TOL } from '../../tolerances.ts';
import { FC_CASES } from './fc-tiles-cases.ts';
import { SKIP } from './helpers.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'alexnet-fc16-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Probe { info: CpuInfo; profile: string[]; kernels: { decisions: KernelDecision[] }; results: { name: string; nat: number[]; ref: number[] }[] }

function probe(env: Record<string, string>, home: string): Probe {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/backend/native/fc-tiles-probe.ts'], {
    cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ALEXNET_QUIET: '1', ALEXNET_PROFILE: '1', ALEXNET_HOME: path.join(tmp, home), ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe;
}

const forced = { ALEXNET_GEMM: 'openblas', ALEXNET_OWN_KERNEL: 'fc16' };

function againstRef(p: Probe) {
  for (const c of FC_CASES) {
    const r = p.results.find((x) => x.name === c.name)!;
    assert.equal(r.nat.length, c.n * c.o, c.name);
    assertClose(r.nat, r.ref, TOL.nativeVsRef, c.name);
  }
}

describe('fc forward on our AVX-512 tiles vs ref', { skip: SKIP }, () => {
  test("forced tiles at the machine's ISA: every case against ref, and the profile names the kernel", { timeout: 120_000 }, () => {
    const p = probe(forced, 'forced');
    againstRef(p);
    const tiles = p.profile.filter((k) => /^linear \d+x\d+ \[own tiles avx512/.test(k));
    if (p.info.isaUsed === 'avx512') assert.equal(tiles.length, FC_CASES.length, p.profile.join('; '));
    else assert.equal(tiles.length, 0, `the tiles ran without AVX-512: ${tiles.join('; ')}`);
  });

  test('under ALEXNET_MAX_ISA=avx2 the tiles do not apply: OpenBLAS runs, the same answers', { timeout: 120_000 }, () => {
    const p = probe({ ...forced, ALEXNET_MAX_ISA: 'avx2' }, 'capped');
    againstRef(p);
    assert.ok(!p.profile.some((k) => k.includes('own tiles')), p.profile.join('; '));
    assert.ok(p.profile.some((k) => /^linear \d+x\d+ \[openblas/.test(k)), p.profile.join('; '));
  });

  test('auto: the three candidates are timed once per instance and the decision records which of ours won', { timeout: 120_000 }, () => {
    const p = probe({ ALEXNET_GEMM: 'auto', ALEXNET_CONV: 'auto' }, 'auto');
    againstRef(p);
    const fc = p.kernels.decisions.filter((d) => d.key.startsWith('linear.fc16|'));
    assert.equal(fc.length, FC_CASES.length, JSON.stringify(p.kernels.decisions));
    for (const d of fc) {
      assert.ok(d.ownMs > 0 && d.dnnlMs > 0, JSON.stringify(d));
      if (d.choice === 'own') assert.ok(d.alt === 0 || (d.alt === 1 && p.info.isaUsed === 'avx512'), JSON.stringify(d));
    }
  });
});
