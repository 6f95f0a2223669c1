// The eval forward's max-pool (addon/src/maxpool_eval.cc): when the jobs queued right after a maxPool free its
// argmax unread, the native backend computes y alone (our kernel or oneDNN's inference pooling, by measurement).
// Forced to ours (ALEXNET_CONV=own) at the machine's ISA and under the AVX2 cap, y must hold the argmax kernels'
// values and match ref; a maxPool whose
// argmax is kept still takes the argmax kernels, and its backward matches ref. Child processes, since the forcing
// and the cap are read when the addon loads (maxpool-eval-probe.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CpuInfo, KernelDecision } from '../../../src/backend/native/addon.ts';
import { assertClose, TOL } from '../../tolerances.ts';
import { SKIP } from './helpers.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'alexnet-pool-eval-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Probe {
  info: CpuInfo; profile: string[]; kernels: { decisions: KernelDecision[] };
  results: { name: string; evalY: number[][]; keptY: number[][]; dx: number[][] }[];
}

function probe(env: Record<string, string>, home: string): Probe {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/backend/native/maxpool-eval-probe.ts'], {
    cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ALEXNET_QUIET: '1', ALEXNET_PROFILE: '1', ALEXNET_HOME: path.join(tmp, home), ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe;
}

// === rather than deepEqual: a tie of +0 and -0 may keep either zero
function assertSameValues(nat: number[], ref: number[], what: string): void {
  assert.equal(nat.length, ref.length, `${what}: length`);
  for (let i = 0; i < ref.length; i++) assert.ok(nat[i] === ref[i], `${what}[${i}]: native ${nat[i]}, ref ${ref[i]}`);
}

describe('eval max-pool (argmax freed unread) vs ref', { skip: SKIP }, () => {
  for (const cap of ['', 'avx2']) {
    test(`forced ours, ${cap ? 'ALEXNET_MAX_ISA=avx2' : "the machine's ISA"}: y equals ref; a kept argmax still takes the argmax kernels`, { timeout: 120_000 }, () => {
      const p = probe(cap ? { ALEXNET_CONV: 'own', ALEXNET_MAX_ISA: cap } : { ALEXNET_CONV: 'own' }, `forced${cap}`);
      if (p.info.isaUsed === 'none') return;  // no AVX2: our kernels do not apply (oneDNN runs, tested in parity)
      for (const r of p.results) {
        // the same native input: the eval kernel's y equals the argmax kernel's; against ref (whose conv ahead
        // rounds its own way) within the usual tolerance
        assertSameValues(r.evalY[0], r.keptY[0], `${r.name}: eval y against the argmax kernel's y`);
        assertClose(r.evalY[0], r.evalY[1], TOL.nativeVsRef, `${r.name}: eval y`);
        assertClose(r.keptY[0], r.keptY[1], TOL.nativeVsRef, `${r.name}: y with the argmax kept`);
        assertClose(r.dx[0], r.dx[1], TOL.nativeVsRef, `${r.name}: dx`);
        assert.ok(r.evalY[1].some((v) => v > 0) && r.evalY[1].some((v) => v === 0), `${r.name}: windows hold both ties and positives`);
      }
      const evalKeys = p.profile.filter((k) => /^maxPool .*\[eval /.test(k));
      assert.ok(evalKeys.some((k) => k.includes('[eval nChw8c]')), p.profile.join('; '));
      if (p.info.isaUsed === 'avx512') assert.ok(evalKeys.some((k) => k.includes('[eval nChw16c avx512]')), p.profile.join('; '));
      // every case also ran once with its argmax kept: those calls never take the eval kernel
      assert.ok(p.profile.filter((k) => k.startsWith('maxPool ') && !/\[eval /.test(k)).length >= 1, p.profile.join('; '));
    });
  }

  test('auto: the eval pool has its own measured decision, beside the argmax one', { timeout: 120_000 }, () => {
    const p = probe({}, 'auto');
    for (const r of p.results) assertSameValues(r.evalY[0], r.keptY[0], `${r.name}: eval y against the argmax kernel's y`);
    const keys = p.kernels.decisions.map((d) => d.key);
    assert.ok(keys.some((k) => k.startsWith('maxPool.eval|1x64x55x55|3,2,0|')), keys.join('; '));
    assert.ok(keys.some((k) => k.startsWith('maxPool|1x64x55x55|3,2,0|')), keys.join('; '));
  });
});
