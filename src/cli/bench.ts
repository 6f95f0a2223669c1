// alexnet bench: images/s for eval forward (batch 1, 64) and one training step (batch 128), peak RSS,
// and with --peers PyTorch (tools/bench_torch.py) and onnxruntime-node (our exported ONNX) side by side.
// Each measurement runs in its own child process so every peak RSS belongs to one framework only. A shared or
// virtualised 2-core machine drifts by tens of percent within a minute, so the frameworks take turns for
// --rounds rounds and each figure is the median over the rounds (peak RSS: the maximum).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { int, choice, PRECISION_CHOICES, PRECISION_HELP, VARIANTS } from './cli-opts.ts';
import { BACKEND_NAMES, type RegisteredBackend } from '../backend/index.ts';
import type { CpuInfo, KernelDecision } from '../backend/native/addon.ts';
import { describeDecision } from '../backend/native/kernels.ts';

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
interface PeerResult extends Partial<BenchFigures> { skip?: string; cpu?: string; precision?: string; isa?: CpuInfo; kernels?: { file: string; timings: number; decisions: KernelDecision[] } }

const root = fileURLToPath(new URL('../../', import.meta.url));

function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): PeerResult {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  if (r.error) return { skip: `${cmd}: ${r.error.message}` };
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) return { skip: `${cmd} ${args[args.length - 1] ?? ''} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(line) as PeerResult;
}

/** Median of each figure over rounds (skipped rounds ignored), max of peak RSS; the first skip if all skipped. */
export function combineRounds(rs: PeerResult[]): PeerResult {
  const ok = rs.filter((r) => !r.skip);
  if (!ok.length) return rs[0];
  const med = (f: (r: PeerResult) => number | undefined) => {
    const v = ok.map(f).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
    return v.length ? (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : 0;
  };
  return {
    forward: { batch1: med((r) => r.forward?.batch1), batch64: med((r) => r.forward?.batch64) },
    train: { batch128: med((r) => r.train?.batch128) },
    peakRssMiB: Math.max(...ok.map((r) => r.peakRssMiB ?? 0)),
  };
}

const fmt = (v: number | undefined) => (v ? v.toFixed(1) : '-');
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}x` : '-');

export function declare(program: Command): Command {
  return program.command('bench')
    .description('images/s for forward (batch 1, 64) and a training step (batch 128), peak memory; --peers runs PyTorch and onnxruntime side by side');
}

export function configure(cmd: Command): void {
  cmd
    .addOption(choice('--variant <v>', 'architecture', VARIANTS, 'torchvision'))
    .addOption(choice('--backend <b>', 'compute backend', BACKEND_NAMES, 'native'))
    .option('--threads <n>', 'threads for every framework (default: ALEXNET_THREADS or all cores)', int('--threads'))
    .option('--steps <n>', 'measured iterations per figure (after one warm-up)', int('--steps'), 3)
    .option('--rounds <n>', 'frameworks take turns this many times; figures are medians over rounds (default 3; 1 with --backend ref)', int('--rounds'))
    .addOption(choice('--precision <p>', `ours: ${PRECISION_HELP}`, PRECISION_CHOICES, 'fp32'))
    .option('--peers', 'also run PyTorch (tools/bench_torch.py) and onnxruntime-node on our exported ONNX')
    .option('--kernels', 'also print the kernel chosen by measurement per conv instance (native; ALEXNET_CONV=auto)')
    .option('--json', 'print one JSON line instead of a table')
    .action((o: { variant: 'paper' | 'torchvision'; backend: RegisteredBackend; threads?: number; precision: string; steps: number; rounds?: number; peers?: boolean; kernels?: boolean; json?: boolean }) => {
      if (o.backend === 'webgpu') {  // a time-boxed run of its own: software adapters take seconds per image
        const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/webgpu.ts', '--variant', o.variant, ...(o.json ? ['--json'] : [])], { cwd: root, stdio: 'inherit' });
        process.exitCode = r.status ?? 1;
        return;
      }
      // the measuring scripts live in bench/ and run through tsx: a clone has them, an installed package does not
      if (!existsSync(`${root}bench/measure.ts`)) throw new Error(`bench needs a clone of the repository (bench/measure.ts and tsx); not found under ${root}`);
      const threads = o.threads ?? (process.env.ALEXNET_THREADS ? int('ALEXNET_THREADS')(process.env.ALEXNET_THREADS) : availableParallelism());
      const steps = o.steps;
      const common = ['--variant', o.variant, '--threads', String(threads), '--steps', String(steps)];
      const log = (s: string) => { if (!o.json) console.error(s); };
      if (o.backend === 'ref') log('[bench] note: the ref backend is plain TypeScript; a batch-128 training step takes minutes (no warm-up runs for ref)');

      const rounds = o.rounds ?? (o.backend === 'ref' ? 1 : 3);  // ref's training step alone takes minutes
      const py = process.env.ALEXNET_PYTHON ?? '/usr/bin/python3';
      const runs: Record<string, () => PeerResult> = {
        ours: () => runJson(process.execPath, ['--import', 'tsx', 'bench/measure.ts', '--backend', o.backend, '--precision', o.precision, ...common], { ALEXNET_THREADS: String(threads), OMP_NUM_THREADS: String(threads) }),
      };
      if (o.peers) {
        runs.pytorch = () => {
          if (!existsSync(py) && !process.env.ALEXNET_PYTHON) return { skip: `SKIP: python3-torch missing (${py})` };
          const r = runJson(py, ['tools/bench_torch.py', ...common], { OMP_NUM_THREADS: String(threads), ...peerIsaEnv() });
          return r.skip?.includes("No module named 'torch'") ? { skip: 'SKIP: python3-torch missing' } : r;
        };
        runs.onnxruntime = () => runJson(process.execPath, ['--import', 'tsx', 'bench/onnx_peer.ts', ...common]);
      }
      const got: Record<string, PeerResult[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
      for (let r = 1; r <= rounds; r++) {
        for (const [name, run] of Object.entries(runs)) {
          log(`[bench] round ${r}/${rounds}: ${name === 'ours' ? `ours (${o.backend}, ${o.variant}, ${threads} threads)` : name} ...`);
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
      const result = {
        variant: o.variant, backend: o.backend, precision: last.precision ?? 'fp32', threads, rounds, cpu: last.cpu, isa: last.isa, forward: ours.forward, train: ours.train, peakRssMiB: ours.peakRssMiB, peers,
        ...(o.kernels ? { kernels: last.kernels } : {}),
      };
      if (o.json) { console.log(JSON.stringify(result)); return; }

      const rows: [string, (f: PeerResult) => number | undefined][] = [
        ['forward batch 1 (img/s)', (f) => f.forward?.batch1],
        ['forward batch 64 (img/s)', (f) => f.forward?.batch64],
        ['train step batch 128 (img/s)', (f) => f.train?.batch128],
        ['peak RSS (MiB)', (f) => f.peakRssMiB],
      ];
      const names = Object.keys(peers);
      const head = ['', `ours (${o.backend})`, ...names.flatMap((n) => [n, `ours/${n}`])];
      const body = rows.map(([label, get]) => [label, fmt(get(ours)), ...names.flatMap((n) => [fmt(get(peers[n])), ratio(get(ours), get(peers[n]))])]);
      const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
      const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
      console.log(`AlexNet ${o.variant}, ${threads} threads, ${steps} measured steps after warm-up, median of ${rounds} alternating round${rounds > 1 ? 's' : ''}`);
      const isa = isaLine(last);
      if (isa) console.log(isa);
      console.log(line(head));
      for (const r of body) console.log(line(r));
      for (const n of names) if (peers[n].skip) console.log(`${n}: ${peers[n].skip}`);
      if (peers.onnxruntime && !peers.onnxruntime.skip) console.log('(onnxruntime: inference only; its RSS includes building the weights in-process)');
      if (o.kernels) {
        if (last.kernels) for (const l of kernelTable(last.kernels)) console.log(l);
        else console.log(`kernel choices: none (backend ${o.backend} has no measured kernel choice)`);
      }
    });
}
