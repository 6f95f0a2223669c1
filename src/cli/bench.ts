// alexnet bench: images/s for eval forward (batch 1, 64) and one training step (batch 128), peak RSS, each as a
// share of the roofline (direct-convolution FLOPs at the measured OpenBLAS sgemm peak), the kernel chosen per
// layer; with --peers PyTorch (tools/bench_torch.py) and onnxruntime-node (on our export and on PyTorch's own
// torch.onnx.export) side by side, then all of it again under ALEXNET_MAX_ISA=avx2 (PyTorch capped the same
// way), and the issue's targets with met / not met. Each measurement runs in its own child process so every
// peak RSS belongs to one framework only. A shared or virtualised 2-core machine drifts by tens of percent
// within a minute, so the frameworks take turns for --rounds rounds and each figure is the median over the
// rounds (peak RSS: the maximum, which includes the first process's kernel timing).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { int, choice, PRECISION_CHOICES, PRECISION_HELP, VARIANTS } from './cli-opts.ts';
import { BACKEND_NAMES, type RegisteredBackend } from '../backend/index.ts';
import type { CpuInfo, KernelDecision } from '../backend/native/addon.ts';
import { describeDecision } from '../backend/native/kernels.ts';
import { alexnetHome } from '../util/home.ts';
import { forwardCalls } from './bench-calls.ts';
import { kernelsByLayer, rooflineFlops, rooflineFractions, targetLines, targets, withRoof } from './bench-report.ts';
import { median } from '../util/median.ts';

/** "CPU: <model>; ISA: detected avx512, in force avx2 (ALEXNET_MAX_ISA=avx2); oneDNN 2.6.0 avx2; conv auto; 2 threads" */
export function isaLine(r: PeerResult): string | undefined {
  if (!r.isa) return r.cpu ? `CPU: ${r.cpu}` : undefined;
  const i = r.isa;
  const cap = i.isaCap !== i.isaDetected && i.isaCap !== 'avx512' ? ` (ALEXNET_MAX_ISA=${i.isaCap})` : '';
  return `CPU: ${r.cpu ?? '?'}; ISA: detected ${i.isaDetected}, own kernels ${i.isaUsed}${cap}; oneDNN ${i.dnnlVersion} ${i.dnnlIsa}; conv ${i.conv}; ${i.threads} threads${r.precision === 'bf16' ? '; precision bf16 (conv + fc)' : ''}`;
}

/** The environment that gives PyTorch the same ISA cap as ALEXNET_MAX_ISA (its ATen kernels and its oneDNN). */
export function peerIsaEnv(cap = process.env.ALEXNET_MAX_ISA): Record<string, string> {
  if (!cap) return {};
  const aten = ({ avx512: 'avx512', avx2: 'avx2', none: 'default' } as Record<string, string>)[cap];
  const dnnl = ({ avx512: 'AVX512_CORE_BF16', avx2: 'AVX2', none: 'SSE41' } as Record<string, string>)[cap];
  if (!aten || !dnnl) throw new Error(`ALEXNET_MAX_ISA: unknown value '${cap}' (use avx2, avx512 or none)`);
  return { ATEN_CPU_CAPABILITY: aten, ONEDNN_MAX_CPU_ISA: dnnl, DNNL_MAX_CPU_ISA: dnnl };
}

/** The kernel decisions as a table: op, shape, layouts, threads, choice, both timings. */
export function kernelTable(k: NonNullable<PeerResult['kernels']>): string[] {
  const rows = k.decisions.map(describeDecision).map((d) => [d.op, d.shape, d.layout, String(d.threads), d.choice, d.ownMs.toFixed(2), d.dnnlMs.toFixed(2)]);
  const head = ['op', 'shape|attrs', 'layouts', 'threads', 'chosen', 'own ms', 'oneDNN ms'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [`kernel choices (${k.decisions.length}; timed in this run: ${k.timings}; cache ${k.file}):`, line(head), ...rows.map(line)];
}

export interface BenchFigures { forward: { batch1: number; batch64: number }; train: { batch128: number }; peakRssMiB: number }
interface PeerResult extends Partial<BenchFigures> { skip?: string; cpu?: string; precision?: string; isa?: CpuInfo; kernels?: { file: string; timings: number; decisions: KernelDecision[] }; gflops?: number; n?: number; coretype?: string | null; file?: string }

const root = fileURLToPath(new URL('../../', import.meta.url));

// env: added to ours; a key set to '' is removed (the native-ISA run must not inherit a cap)
function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): PeerResult {
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === '') delete full[k];
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: full, maxBuffer: 1 << 24 });
  if (r.error) return { skip: `${cmd}: ${r.error.message}` };
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) return { skip: `${cmd} ${args[args.length - 1] ?? ''} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(line) as PeerResult;
}

/** Median of each figure over rounds (skipped rounds ignored), max of peak RSS; the first skip if all skipped.
 *  Peak RSS counts only the rounds that timed no kernel when there are any: a process that times its kernel
 *  choices holds both candidates' outputs for a moment, which the first run on a machine does once. */
export function combineRounds(rs: PeerResult[]): PeerResult {
  const ok = rs.filter((r) => !r.skip);
  const settled = ok.filter((r) => r.kernels?.timings === 0);
  if (!ok.length) return rs[0];
  const med = (f: (r: PeerResult) => number | undefined) => {
    const v = ok.map(f).filter((x): x is number => typeof x === 'number');
    return v.length ? median(v) : 0;
  };
  return {
    forward: { batch1: med((r) => r.forward?.batch1), batch64: med((r) => r.forward?.batch64) },
    train: { batch128: med((r) => r.train?.batch128) },
    peakRssMiB: Math.max(...(settled.length ? settled : ok).map((r) => r.peakRssMiB ?? 0)),
  };
}

const fmt = (v: number | undefined) => (v ? v.toFixed(1) : '-');
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}x` : '-');

export function declare(program: Command): Command {
  return program.command('bench')
    .description('images/s for forward (batch 1, 64) and a training step (batch 128) with their share of the GEMM roofline, peak memory, the kernel chosen per layer; --peers adds PyTorch and onnxruntime, the ALEXNET_MAX_ISA=avx2 pass and the targets');
}

type Opts = {
  variant: 'paper' | 'torchvision'; backend: RegisteredBackend; threads?: number; steps?: number; rounds?: number; peers?: boolean;
  kernels?: boolean; json?: boolean; quick?: boolean; isa?: string; retimeKernels?: boolean; precision: string;
};

export function configure(cmd: Command): void {
  cmd
    .addOption(choice('--variant <v>', 'architecture', VARIANTS, 'torchvision'))
    .addOption(choice('--backend <b>', 'compute backend', BACKEND_NAMES, 'native'))
    .option('--threads <n>', 'threads for every framework (default: ALEXNET_THREADS or all cores)', int('--threads'))
    .option('--steps <n>', 'measured training steps (after one warm-up; default 3, 1 with --quick); the forwards time 2x (batch 64) and 20x (batch 1, at least 30) as many calls (bench-calls.ts)', int('--steps'))
    .option('--rounds <n>', 'frameworks take turns this many times; figures are medians over rounds (default 3; 1 with --quick or --backend ref)', int('--rounds'))
    .addOption(choice('--precision <p>', `ours: ${PRECISION_HELP}`, PRECISION_CHOICES, 'fp32'))
    .option('--peers', 'also run PyTorch (tools/bench_torch.py) and onnxruntime-node on our export and on torch.onnx.export\'s, then all again under ALEXNET_MAX_ISA=avx2, and check the targets')
    .option('--isa <modes>', 'with --peers: which ISA modes, comma-separated from native and avx2 (default: both; only the one ALEXNET_MAX_ISA names when set)')
    .option('--quick', 'a short run: 1 measured step, 1 round, a 2048^3 GEMM for the peak')
    .option('--retime-kernels', 'time every kernel choice afresh (a temporary kernel cache) instead of this machine\'s cached decisions')
    .option('--kernels', 'also print every kernel decision by its key (native; ALEXNET_CONV=auto)')
    .option('--json', 'print one JSON line instead of tables')
    .action((o: Opts) => {
      if (o.backend === 'webgpu') {  // a time-boxed run of its own: software adapters take seconds per image
        const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/webgpu.ts', '--variant', o.variant, ...(o.json ? ['--json'] : [])], { cwd: root, stdio: 'inherit' });
        process.exitCode = r.status ?? 1;
        return;
      }
      // the measuring scripts live in bench/ and run through tsx: a clone has them, an installed package does not
      if (!existsSync(`${root}bench/measure.ts`)) throw new Error(`bench needs a clone of the repository (bench/measure.ts and tsx); not found under ${root}`);
      const t0 = Date.now();
      const threads = o.threads ?? (process.env.ALEXNET_THREADS ? int('ALEXNET_THREADS')(process.env.ALEXNET_THREADS) : availableParallelism());
      const steps = o.steps ?? (o.quick ? 1 : 3);
      const common = ['--variant', o.variant, '--threads', String(threads), '--steps', String(steps)];
      const log = (s: string) => { if (!o.json) console.error(s); };
      if (o.backend === 'ref') log('[bench] note: the ref backend is plain TypeScript; a batch-128 training step takes minutes (no warm-up runs for ref)');
      const rounds = o.rounds ?? (o.backend === 'ref' || o.quick ? 1 : 3);
      const py = process.env.ALEXNET_PYTHON ?? '/usr/bin/python3';
      const hasPy = existsSync(py) || !!process.env.ALEXNET_PYTHON;
      const native = o.backend === 'native';
      const envCap = process.env.ALEXNET_MAX_ISA || undefined;
      const modes = (o.isa ?? (o.peers && !envCap ? 'native,avx2' : envCap ?? 'native')).split(',').map((m) => m.trim());
      for (const m of modes) if (!['native', 'avx2', 'avx512', 'none'].includes(m)) throw new Error(`--isa: unknown mode '${m}' (use native, avx2, avx512 or none, comma-separated)`);
      const kernelHome = o.retimeKernels ? mkdtempSync(path.join(tmpdir(), 'alexnet-bench-kernels-')) : undefined;
      try {
        // the machine's GEMM peak, once (OpenBLAS does not follow ALEXNET_MAX_ISA; OPENBLAS_CORETYPE stays as set)
        const peak = native ? runJson(process.execPath, ['--import', 'tsx', 'bench/gemm_peak.ts', '--threads', String(threads), '--n', o.quick ? '2048' : '4096', '--reps', o.quick ? '2' : '3']) : undefined;
        const gflops = peak && !peak.skip ? peak.gflops : undefined;
        // PyTorch's own export of torchvision's AlexNet, made once per machine by a committed script
        let torchOnnx: string | undefined, torchOnnxSkip: string | undefined;
        if (o.peers && o.variant === 'torchvision') {
          torchOnnx = path.join(alexnetHome(), 'bench', 'torchvision-alexnet.torch-export.onnx');
          if (!existsSync(torchOnnx)) {
            log(`[bench] exporting torchvision's AlexNet with torch.onnx.export to ${torchOnnx} ...`);
            const r = hasPy ? runJson(py, ['bench/export_torch_onnx.py', torchOnnx]) : { skip: `SKIP: python3-torch missing (${py})` };
            if (r.skip) { torchOnnxSkip = r.skip.includes("No module named 'torch'") ? 'SKIP: python3-torch missing' : r.skip; torchOnnx = undefined; }
          }
        }
        const result: Record<string, unknown> = { variant: o.variant, backend: o.backend, threads, rounds, steps, gemmPeak: peak, modes: {} as Record<string, unknown> };
        const summary: Record<string, { ours: PeerResult; peers: Record<string, PeerResult> }> = {};
        for (const mode of modes) {
          const cap = mode === 'native' ? '' : mode;
          const oursEnv = { ALEXNET_THREADS: String(threads), OMP_NUM_THREADS: String(threads), ALEXNET_MAX_ISA: cap, ...(kernelHome ? { ALEXNET_HOME: kernelHome } : {}) };
          const runs: Record<string, () => PeerResult> = {
            ours: () => runJson(process.execPath, ['--import', 'tsx', 'bench/measure.ts', '--backend', o.backend, '--precision', o.precision, ...common], oursEnv),
          };
          if (o.peers) {
            runs.pytorch = () => {
              if (!hasPy) return { skip: `SKIP: python3-torch missing (${py})` };
              const r = runJson(py, ['tools/bench_torch.py', ...common, '--calls64', String(forwardCalls(steps).batch64), '--calls1', String(forwardCalls(steps).batch1)], { OMP_NUM_THREADS: String(threads), ALEXNET_MAX_ISA: cap, ...peerIsaEnv(cap || undefined) });
              return r.skip?.includes("No module named 'torch'") ? { skip: 'SKIP: python3-torch missing' } : r;
            };
            if (mode === 'native') {  // onnxruntime has no ISA cap of its own: it runs in the native mode only
              runs.onnxruntime = () => runJson(process.execPath, ['--import', 'tsx', 'bench/onnx_peer.ts', ...common]);
              if (o.variant === 'torchvision') runs['onnxruntime (torch export)'] = () => torchOnnx ? runJson(process.execPath, ['--import', 'tsx', 'bench/onnx_peer.ts', ...common, '--model', torchOnnx]) : { skip: torchOnnxSkip ?? 'no torch export' };
            }
          }
          const got: Record<string, PeerResult[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
          for (let r = 1; r <= rounds; r++) {
            for (const [name, run] of Object.entries(runs)) {
              log(`[bench] ${mode === 'native' ? 'native ISA' : `ALEXNET_MAX_ISA=${mode}`}, round ${r}/${rounds}: ${name === 'ours' ? `ours (${o.backend}, ${o.variant}, ${threads} threads)` : name} ...`);
              const res = run();
              if (name === 'ours' && res.skip) throw new Error(res.skip);
              got[name].push(res);
              if (res.skip) delete runs[name];  // a missing peer stays missing
            }
          }
          const ours = combineRounds(got.ours);
          const peers: Record<string, PeerResult> = {};
          for (const name of Object.keys(got)) if (name !== 'ours') peers[name] = combineRounds(got[name]);
          const last = got.ours[got.ours.length - 1];
          summary[mode] = { ours, peers };
          (result.modes as Record<string, unknown>)[mode] = { cpu: last.cpu, isa: last.isa, forward: ours.forward, train: ours.train, peakRssMiB: ours.peakRssMiB, peers, kernels: last.kernels };
          if (!o.json) printMode(o, mode, threads, steps, rounds, ours, peers, last, gflops, peak);
          // an AVX2-only machine: the capped run would repeat the native one
          if (mode === 'native' && last.isa?.isaDetected === 'avx2' && modes.includes('avx2')) { modes.splice(modes.indexOf('avx2'), 1); log('[bench] the native ISA is AVX2: no separate ALEXNET_MAX_ISA=avx2 run'); }
        }
        const nat = summary.native, cap = summary.avx2;
        const ts = nat ? targets({ ours: nat.ours, pytorch: nat.peers.pytorch, ort: [nat.peers.onnxruntime, nat.peers['onnxruntime (torch export)']].filter((x) => x && !x.skip) },
          cap ? { ours: cap.ours, pytorch: cap.peers.pytorch } : undefined) : [];
        result.targets = ts;
        result.seconds = (Date.now() - t0) / 1000;
        if (o.json) { console.log(JSON.stringify(result)); return; }
        if (o.peers && ts.length) { console.log('\ntargets (torchvision at 224 in the issue; this run\'s figures):'); for (const l of targetLines(ts)) console.log(l); }
        console.log(`\nbench took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      } finally {
        if (kernelHome) rmSync(kernelHome, { recursive: true, force: true });
      }
    });
}

function printMode(o: Opts, mode: string, threads: number, steps: number, rounds: number, ours: PeerResult, peers: Record<string, PeerResult>,
  last: PeerResult, gflops: number | undefined, peak: PeerResult | undefined): void {
  console.log(`\n== ${mode === 'native' ? 'native ISA' : `ALEXNET_MAX_ISA=${mode}${peers.pytorch ? ' (PyTorch: ATEN_CPU_CAPABILITY and ONEDNN_MAX_CPU_ISA the same)' : ''}`} ==`);
  console.log(`AlexNet ${o.variant}, ${threads} threads, ${steps} measured training step${steps > 1 ? 's' : ''} and ${forwardCalls(steps).batch64} + ${forwardCalls(steps).batch1} forward calls (batch 64, batch 1) after warm-up, median of ${rounds} alternating round${rounds > 1 ? 's' : ''}`);
  const isa = isaLine(last);
  if (isa) console.log(isa);
  const rf = rooflineFlops(o.variant);
  if (gflops) {
    console.log(`GEMM peak ${gflops.toFixed(0)} GFLOP/s (OpenBLAS sgemm ${peak!.n}^3, ${threads} threads, OPENBLAS_CORETYPE=${peak!.coretype ?? '(unset)'}); ` +
      `roofline ${(rf.forward / 1e9).toFixed(2)} GFLOP/image forward -> ${(gflops * 1e9 / rf.forward).toFixed(0)} img/s, ${(rf.train / 1e9).toFixed(2)} GFLOP/image training -> ${(gflops * 1e9 / rf.train).toFixed(0)} img/s; (%) = share of it`);
  } else if (peak?.skip) console.log(`GEMM peak: ${peak.skip}`);
  const frac = (f: PeerResult) => (gflops ? rooflineFractions(f, o.variant, gflops) : undefined);
  const rows: [string, (f: PeerResult) => number | undefined, 'batch1' | 'batch64' | 'batch128' | undefined][] = [
    ['forward batch 1 (img/s)', (f) => f.forward?.batch1, 'batch1'],
    ['forward batch 64 (img/s)', (f) => f.forward?.batch64, 'batch64'],
    ['train step batch 128 (img/s)', (f) => f.train?.batch128, 'batch128'],
    ['peak RSS (MiB)', (f) => f.peakRssMiB, undefined],
  ];
  const names = Object.keys(peers).filter((n) => !peers[n].skip);
  const head = ['', `ours (${o.backend})`, ...names.flatMap((n) => [n, `ours/${n}`])];
  const cell = (f: PeerResult, get: (f: PeerResult) => number | undefined, k?: 'batch1' | 'batch64' | 'batch128') => (k ? withRoof(get(f), frac(f)?.[k]) : fmt(get(f)));
  const body = rows.map(([label, get, k]) => [label, cell(ours, get, k), ...names.flatMap((n) => [cell(peers[n], get, k), ratio(get(ours), get(peers[n]))])]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of body) console.log(line(r));
  for (const n of Object.keys(peers)) if (peers[n].skip) console.log(`${n}: ${peers[n].skip}`);
  if (names.some((n) => n.startsWith('onnxruntime'))) console.log('(onnxruntime: inference only; its RSS includes building the weights in-process)');
  if (last.kernels?.decisions.length) {
    console.log(`kernels chosen by measurement (${last.kernels.decisions.length}; timed in the last run: ${last.kernels.timings}; cache ${last.kernels.file}):`);
    for (const l of kernelsByLayer(last.kernels.decisions, o.variant)) console.log(`  ${l}`);
    if (o.kernels) for (const l of kernelTable(last.kernels)) console.log(l);
  } else if (o.kernels) console.log(`kernel choices: none (backend ${o.backend} has no measured kernel choice)`);
}
