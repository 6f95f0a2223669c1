// alexnet bench: figures from alternating rounds are combined as medians (peak RSS: maximum), skipped rounds ignored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineRounds, isaLine, kernelTable, peerIsaEnv } from '../../src/cli/bench.ts';

const r = (b1: number, b64: number, t: number, rss: number) => ({ forward: { batch1: b1, batch64: b64 }, train: { batch128: t }, peakRssMiB: rss });

test('combineRounds: median per figure, max RSS, odd and even counts', () => {
  assert.deepEqual(combineRounds([r(1, 100, 30, 900), r(3, 90, 10, 1000), r(2, 140, 20, 950)]), r(2, 100, 20, 1000));
  assert.deepEqual(combineRounds([r(1, 100, 30, 900), r(3, 90, 10, 1000)]), r(2, 95, 20, 1000));
});

test('combineRounds: skipped rounds are ignored; all skipped gives the skip', () => {
  assert.deepEqual(combineRounds([{ skip: 'x' }, r(1, 2, 3, 4)]), r(1, 2, 3, 4));
  assert.deepEqual(combineRounds([{ skip: 'SKIP: python3-torch missing' }]), { skip: 'SKIP: python3-torch missing' });
});

const isa = { isaDetected: 'avx512', isaCap: 'avx2', isaUsed: 'avx2', dnnlIsa: 'avx2', dnnlVersion: '2.6.3', threads: 2, conv: 'auto' as const };

test('isaLine names the CPU, the ISA detected and in force (with the cap), oneDNN and the threads', () => {
  assert.equal(isaLine({ cpu: 'AMD EPYC', isa }), 'CPU: AMD EPYC; ISA: detected avx512, own kernels avx2 (ALEXNET_MAX_ISA=avx2); oneDNN 2.6.3 avx2; conv auto; 2 threads');
  assert.equal(isaLine({ cpu: 'AMD EPYC', isa: { ...isa, isaCap: 'avx512', isaUsed: 'avx512', dnnlIsa: 'avx512_core_bf16' } }),
    'CPU: AMD EPYC; ISA: detected avx512, own kernels avx512; oneDNN 2.6.3 avx512_core_bf16; conv auto; 2 threads');
  assert.equal(isaLine({ cpu: 'x' }), 'CPU: x');
  assert.equal(isaLine({}), undefined);
});

test('kernelTable: one row per decision with op, shape, layouts, threads, winner and both timings', () => {
  const rows = kernelTable({ file: '/h/kernels/c.json', timings: 1, decisions: [
    { key: 'conv2d|1x3x224x224|64x3x11x11|4,2,1|nchw|t2', choice: 'dnnl', ownMs: 6.29, dnnlMs: 2.66 },
    { key: 'conv2dBackward|2x64x27x27|192x64x5x5|1,2,1,dx|nChw8c,nChw8c|t1', choice: 'own', ownMs: 10, dnnlMs: 20.5 },
  ] });
  assert.match(rows[0], /kernel choices \(2; timed in this run: 1; cache \/h\/kernels\/c\.json\)/);
  assert.match(rows[2], /^conv2d +1x3x224x224\|64x3x11x11\|4,2,1 +nchw +2 +dnnl +6\.29 +2\.66$/);
  assert.match(rows[3], /^conv2dBackward +2x64x27x27\|192x64x5x5\|1,2,1,dx +nChw8c,nChw8c +1 +own +10\.00 +20\.50$/);
});

test('peerIsaEnv: the same cap for PyTorch; none without a cap; unknown values refused', () => {
  assert.deepEqual(peerIsaEnv(undefined), {});
  assert.deepEqual(peerIsaEnv('avx2'), { ATEN_CPU_CAPABILITY: 'avx2', ONEDNN_MAX_CPU_ISA: 'AVX2', DNNL_MAX_CPU_ISA: 'AVX2' });
  assert.equal(peerIsaEnv('none').ATEN_CPU_CAPABILITY, 'default');
  assert.throws(() => peerIsaEnv('avx9'), /ALEXNET_MAX_ISA: unknown value 'avx9'/);
});
