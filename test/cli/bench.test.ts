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

const isa = { isaDetected: 'avx512', isaCap: 'avx2', isaUsed: 'avx2', dnnlIsa: 'avx2', dnnlVersion: '2.6.3', threads: 2, conv: 'auto' as const, convOwnMargin: 1.1 };

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

// the report: roofline, the layer behind each kernel decision, the targets
import { kernelsByLayer, layerOf, rooflineFlops, rooflineFractions, targetLines, targets } from '../../src/cli/bench-report.ts';

test('rooflineFlops: torchvision at 224 is 1.43 GFLOP forward and 4.29 GFLOP per training image', () => {
  const r = rooflineFlops('torchvision');
  assert.equal(r.forward, 2 * 714_188_480);
  assert.equal(Number((r.train / 1e9).toFixed(2)), 4.29);
  const f = rooflineFractions({ forward: { batch1: 0, batch64: 100 }, train: { batch128: 50 } }, 'torchvision', 487);
  assert.ok(Math.abs(f.batch64 - 100 * r.forward / 487e9) < 1e-12);
  assert.ok(Math.abs(f.batch128 - 0.44) < 0.005, String(f.batch128));
  assert.equal(f.batch1, 0);
});

test('layerOf: conv, pool and fc decision keys name their layer, pass and batch', () => {
  const d = (key: string) => ({ key, choice: 'own' as const, ownMs: 1, dnnlMs: 2 });
  assert.deepEqual(layerOf(d('conv2d|64x3x224x224|64x3x11x11|4,2,1|nchw|t2'), 'torchvision'), { layer: 'conv1', pass: 'forward', batch: 64 });
  assert.deepEqual(layerOf(d('conv2dBackward|128x64x27x27|192x64x5x5|1,2,1,dx|nChw16c,nChw16c|t2'), 'torchvision'), { layer: 'conv2', pass: 'backward (dw, dx)', batch: 128 });
  assert.deepEqual(layerOf(d('maxPool|1x192x27x27|3,2,0|nChw8c|t2'), 'torchvision')?.layer, 'pool2');
  assert.deepEqual(layerOf(d('maxPool.eval|64x64x55x55|3,2,0|nChw8c|t2'), 'torchvision'), { layer: 'pool1', pass: 'forward (eval: no argmax)', batch: 64 });
  assert.deepEqual(layerOf(d('linear|NT|1x4096x9216|plain|t2'), 'torchvision'), { layer: 'fc6', pass: 'forward', batch: 1 });
  assert.deepEqual(layerOf(d('linearBackward.dw|TN|4096x4096x128|plain|t2'), 'torchvision'), { layer: 'fc7', pass: 'backward dw', batch: 128 });
  assert.deepEqual(layerOf(d('linearBackward.dx|NN|128x4096x1000|plain|t2'), 'torchvision'), { layer: 'fc8', pass: 'backward dx', batch: 128 });
  assert.equal(layerOf(d('conv2d|64x3x224x224|64x3x11x11|4,2,1|nchw|t2'), 'paper'), undefined);  // paper conv1 has 96 filters
  const rows = kernelsByLayer([d('linear|NT|64x1000x4096|plain|t2'), { ...d('conv2d|64x3x224x224|64x3x11x11|4,2,1|nchw|t2'), kernel: 'direct avx512' }], 'torchvision');
  assert.match(rows[1], /^conv1 +forward +64 +nchw +direct avx512 +own 1\.00 ms, oneDNN 2\.00 ms$/);
  assert.match(rows[2], /^fc8 +forward +64 +plain +openblas +openblas 1\.00 ms, oneDNN 2\.00 ms$/);
  // the batch-1 GEMV against the SGEMM, and the batched forward with our tiles among the candidates
  assert.deepEqual(layerOf(d('linear.gemv8|1x4096x9216|plain|t2'), 'torchvision'), { layer: 'fc6', pass: 'forward: GEMV or SGEMM', batch: 1 });
  assert.deepEqual(layerOf(d('linear.fc16|NT|64x4096x4096|plain|t2'), 'torchvision'), { layer: 'fc7', pass: 'forward', batch: 64 });
  const fcRows = kernelsByLayer([{ ...d('linear.gemv8|1x1000x4096|plain|t2'), kernel: 'gemv' }, { ...d('linear.fc16|NT|64x1000x4096|plain|t2'), kernel: 'own tiles avx512' }], 'torchvision');
  assert.match(fcRows[1], /^fc8 +forward: GEMV or SGEMM +1 +plain +gemv +gemv 1\.00 ms, sgemm 2\.00 ms$/);
  assert.match(fcRows[2], /^fc8 +forward +64 +plain +own tiles avx512 +openblas\/own 1\.00 ms, oneDNN 2\.00 ms$/);
});

test('targets: ratios against PyTorch and the faster onnxruntime graph, memory at most PyTorch\'s', () => {
  const f = (b1: number, b64: number, t: number, rss: number) => ({ forward: { batch1: b1, batch64: b64 }, train: { batch128: t }, peakRssMiB: rss });
  const ts = targets({ ours: f(100, 300, 90, 2000), pytorch: f(30, 180, 60, 2500), ort: [f(90, 250, 0, 900), f(120, 240, 0, 900)] },
    { ours: f(0, 280, 80, 0), pytorch: f(0, 200, 60, 0) });
  assert.deepEqual(ts.map((t) => t.met), [true, true, false, true, false, false]);
  assert.ok(Math.abs(ts[2].got! - 100 / 120) < 1e-12);  // batch 1 against the faster graph
  assert.equal(targets({ ours: f(1, 1, 1, 1) }).every((t) => t.met === undefined), true);  // no peers: not applicable
  assert.match(targetLines(ts)[3], /^ {2}met {4} {2}peak memory vs PyTorch: 0\.80x \(want <= 1x\)$/);
  assert.match(targetLines(ts)[2], /NOT met +forward b1 vs onnxruntime: 0\.83x \(want >= 1x\)/);
  // a miss that two decimals would round onto the target shows a third
  const close = targets({ ours: f(99.8, 287, 90, 2000), pytorch: f(30, 180, 60, 2500), ort: [f(100, 250, 0, 900)] });
  assert.match(targetLines(close)[1], /NOT met +forward b64 vs onnxruntime: 1\.148x/);
  assert.match(targetLines(close)[2], /NOT met +forward b1 vs onnxruntime: 0\.998x/);
  assert.match(targetLines(close)[0], /met +training step b128 vs PyTorch: 1\.50x/);
});

test('combineRounds: peak RSS from the rounds that timed no kernel, when there are any', () => {
  const k = (timings: number) => ({ file: 'f', timings, decisions: [] });
  assert.equal(combineRounds([{ ...r(1, 1, 1, 2000), kernels: k(44) }, { ...r(1, 1, 1, 1500), kernels: k(0) }, { ...r(1, 1, 1, 1600), kernels: k(0) }]).peakRssMiB, 1600);
  assert.equal(combineRounds([{ ...r(1, 1, 1, 2000), kernels: k(44) }]).peakRssMiB, 2000);
});
