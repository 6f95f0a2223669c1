// Finds and loads the native addon: $ALEXNET_NATIVE_ADDON (an explicit file, for bundled apps), then a source build
// (addon/build/Release/alexnet_native.node, `npm rebuild alexnet-ts`), then the prebuilt platform package
// (alexnet-ts-linux-x64-gnu, an optional dependency that carries its own oneDNN/OpenBLAS). When none loads, the
// Error is ONE line: which file, what is missing (parsed from dlopen's message), the platform, and the fix;
// createBackend('auto') prints it and falls back to ref.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPrebuilt, libcFamily, prebuiltPackage } from '../../../addon/prebuilt.mjs';

/** The C++ engine (addon/src/binding.cc): every method only enqueues; read/sync settle from the worker. */
export interface NativeEngine {
  alloc(id: number, shape: readonly number[], i32: boolean): void;
  upload(id: number, shape: readonly number[], data: Float32Array | Int32Array): void;
  view(id: number, base: number, offset: number, shape: readonly number[]): void;
  /** Overwrite an existing tensor in place with row-major data. */
  write(id: number, data: Float32Array | Int32Array): void;
  /** Fill an existing tensor with bytes [offset, offset + length) of a file (row-major, host byte order), read
   *  by the worker straight into native memory. Errors surface at the next read/sync. */
  readFile(id: number, file: string, offset: number, length: number): void;
  free(id: number): void;
  run(op: string, inputs: number[], outputs: number[], attrs: number[]): void;
  /** A recorded op sequence (addon/src/program.h; record.ts encodes it): its handle for replay. */
  program?(code: Float64Array, ops: string[], inputs: number): number;
  /** Enqueues program `handle` with its created tensors at handles base, base + 1, ... and these inputs. */
  replay?(handle: number, base: number, inputs: number[]): void;
  read(id: number, size: number, i32: boolean): Promise<Float32Array | Int32Array>;
  readSync(id: number, size: number, i32: boolean): Float32Array | Int32Array;
  sync(): Promise<void>;
  setThreads(n: number): void;
  /** ALEXNET_PROFILE=1 only: seconds and calls per "op inputShape" since the last call. */
  profile(): Record<string, [number, number]>;
  dispose(): void;
}

/** What the addon detected and what is in force (addon/src/cpu.cc). ISA names: avx512, avx2, none. */
export interface CpuInfo {
  /** the widest own-kernel ISA this CPU (and OS) supports */
  isaDetected: string;
  /** ALEXNET_MAX_ISA (avx512 when unset) */
  isaCap: string;
  /** what our own kernels use: min(detected, cap) */
  isaUsed: string;
  /** oneDNN's effective ISA (capped too), e.g. avx512_core_bf16, avx2 */
  dnnlIsa: string;
  dnnlVersion: string;
  /** OpenMP threads of the process (a backend's own count is its `threads`) */
  threads: number;
  /** ALEXNET_CONV: auto (measured), own, dnnl */
  conv: 'auto' | 'own' | 'dnnl';
  /** auto, forward convolutions: our kernel keeps an instance unless oneDNN's trial is faster by more than this
   *  factor (the trial times one op; the winner's output layout reaches the next ones) */
  convOwnMargin: number;
}

/** One measured kernel choice: key "op|shape,attrs|layouts|t<threads>", the winner and both timings; kernel: the
 *  winner's name as the op reports it ("winograd F(4,3)", "openblas", "oneDNN"; absent in older cache files).
 *  For the fc products (linear*) "own" is OpenBLAS and "dnnl" oneDNN's sgemm. alt: which of our kernels was
 *  fastest where an instance has several (0: the first, e.g. Winograd; 1: the direct conv; cpu.h's Candidates::alts);
 *  absent in older cache files, whose decisions for such instances are then timed again. trial: how the caches
 *  stood for the timed runs ("warm"; batch 1: "cache" evicted, or "weights": the candidates' weights flushed). */
export interface KernelDecision { key: string; choice: 'own' | 'dnnl'; ownMs: number; dnnlMs: number; kernel?: string; alt?: number; trial?: string }

export interface NativeAddon {
  /** precision: 'fp32' (default) or 'bf16' (throws where bf16 is unavailable; see precision.ts) */
  NativeEngine: new (threads: number, precision?: 'fp32' | 'bf16') => NativeEngine;
  dnnlVersion: string;
  /** Per op, the attribute names in the order `run` takes them (attrs.h; must equal the registry's ABI order). */
  opAttrs?: Record<string, string[]>;
  /** Per op, whether the addon schedules it as heavy (every thread at any size; must equal the registry's). */
  opHeavy?: Record<string, boolean>;
  cpuInfo(): CpuInfo;
  kernelDecisions(): KernelDecision[];
  /** Adds decisions (from the kernel cache); ones already made in this process stay. */
  setKernelDecisions(d: KernelDecision[]): void;
  /** How many op instances this process has timed (0 when every decision came from the cache). */
  kernelTimings(): number;
  /** Whether oneDNN runs bf16 natively (AVX512_BF16 or AMX, after ALEXNET_MAX_ISA); absent in older builds. */
  bf16Support?(): { available: boolean; why: string };
  /** GFLOP/s of the linked OpenBLAS's sgemm on n x n x n, best of reps, with `threads` threads (absent in older addons). */
  sgemmPeak?(n: number, reps: number, threads: number): number;
}

/** The source build's output. */
export const ADDON_PATH = fileURLToPath(new URL('../../../addon/build/Release/alexnet_native.node', import.meta.url));
const REBUILD = 'npm rebuild alexnet-ts --foreground-scripts';
const APT = 'apt-get install libdnnl-dev libopenblas-dev g++ make python3';
export const BUILD_HINT = `native addon not built: run \`${REBUILD}\` (in a clone: \`npm run build:addon\`) after \`${APT}\``;

const req = createRequire(import.meta.url);
let cached: NativeAddon | undefined;

/** e.g. "linux-x64 (glibc 2.36)" */
export function platformLabel(): string {
  const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
  const libc = libcFamily();
  return `${process.platform}-${process.arch}${libc ? ` (${libc === 'gnu' ? `glibc ${glibc ?? '?'}` : 'musl'})` : ''}`;
}

/** The addon files to try, in order, each with where it came from. */
export function addonCandidates(): { file: string; from: string }[] {
  const out: { file: string; from: string }[] = [];
  const explicit = process.env.ALEXNET_NATIVE_ADDON;
  if (explicit) out.push({ file: explicit, from: 'ALEXNET_NATIVE_ADDON' });
  if (existsSync(ADDON_PATH)) out.push({ file: ADDON_PATH, from: 'source build' });
  const pre = findPrebuilt(req);
  if (pre) out.push({ file: pre.file, from: pre.pkg });
  return out;
}

/** True when some addon file exists (it may still fail to load). */
export const addonPresent = (): boolean => addonCandidates().some((c) => existsSync(c.file));

// Debian package that ships a shared library, for the "what to install" part of the message
const DEB: [RegExp, string][] = [
  [/^libdnnl/, 'libdnnl-dev'], [/^libopenblas/, 'libopenblas-dev'], [/^libgomp/, 'libgomp1'],
  [/^libgfortran/, 'libgfortran5'], [/^libOpenCL/, 'ocl-icd-libopencl1'], [/^libquadmath/, 'libquadmath0'],
];

/** One line from a failed require() of an addon: what is wrong and how to fix it. */
export function explainLoadError(file: string, from: string, message: string): string {
  const first = message.split('\n')[0];
  const where = `${file} (${from}) on ${platformLabel()}`;
  const fix = from === 'source build' ? REBUILD : `${REBUILD} to build from source`;
  let m = /([^\s:]+\.so(?:\.\d+)*): (cannot open shared object file|file too short|invalid ELF header|wrong ELF class)/.exec(first);
  if (m && path.basename(m[1]) !== path.basename(file)) {
    const lib = path.basename(m[1]);
    const deb = DEB.find(([re]) => re.test(lib))?.[1];
    const what = m[2] === 'cannot open shared object file' ? 'is missing' : `is unusable (${m[2]})`;
    return `cannot load ${where}: ${lib} ${what}. Fix: ${deb ? `apt-get install ${deb}` : `install the package that provides ${lib}`}` +
      (from === 'source build' ? '' : `, or ${fix}`);
  }
  m = /version `([^']+)' not found/.exec(first);
  if (m) return `cannot load ${where}: it needs ${m[1]}, newer than this system's C/C++ runtime. Fix: ${APT}, then ${fix}`;
  if (/undefined symbol/.test(first)) return `cannot load ${where}: ${first.replace(/^.*undefined symbol/, 'undefined symbol')} (built against another oneDNN/OpenBLAS). Fix: ${REBUILD}`;
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js/.test(first)) return `cannot load ${where}: built for another Node.js version. Fix: ${REBUILD}`;
  if (/invalid ELF header|wrong ELF class|cannot open shared object file|ERR_DLOPEN_FAILED/.test(first)) {
    return `cannot load ${where}: ${first.replace(/^Error: /, '')}. Fix: ${fix}`;
  }
  return `cannot load ${where}: ${first}. Fix: ${fix}`;
}

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  if (process.env.ALEXNET_NO_NATIVE === '1') throw new Error(`${BUILD_HINT} [disabled by ALEXNET_NO_NATIVE=1]`);
  const candidates = addonCandidates();
  if (!candidates.length) {
    const fix = process.platform === 'linux' ? `${APT}, then ${REBUILD}`
      : process.platform === 'darwin' ? `brew install onednn openblas libomp, then ${REBUILD}`
        : 'none yet: the native backend builds on Linux and macOS only (ref works everywhere)';
    throw new Error(`no native addon for ${platformLabel()}: neither ${ADDON_PATH} nor the prebuilt package ${prebuiltPackage()} is installed. Fix: ${fix}`);
  }
  // libgomp reads its wait policy once, when the addon pulls it in. Its default spins idle threads for about 3 ms
  // after every parallel region; with the JS thread, the worker and other processes sharing few cores that
  // spinning stole the cores the next op needed (batch-1 forward ran 2.7x slower, with OpenBLAS's spinners below
  // still awake). Passive, then a short spin (GOMP_SPINCOUNT 100000, about 1 ms by libgomp's own estimate): with
  // no spin at all every op of a batch-1 forward woke a sleeping thread (torchvision, Zen 5, 2 threads, the
  // worker's op times: conv1 1.15 -> 0.53 ms, all ops 12.5 -> 10.8 ms per forward). Either is kept when set.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  process.env.GOMP_SPINCOUNT ??= '100000';
  // OpenBLAS's own threads (Debian's pthread build) do the same for 2^28 cycles (about 0.1 s) after each call,
  // in sched_yield: after the fc layers they held a core through the next forward's convolutions (torchvision
  // batch-64 forward, Zen 5, 2 threads: 170-370 ms per call, 39,000 sched_yield calls in 20 forwards, up to half
  // of each call's CPU time in the kernel). 2^4 cycles: they sleep at once (then 176-197 ms).
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  const errors: string[] = [];
  for (const c of candidates) {
    if (!existsSync(c.file)) { errors.push(`${c.file} (${c.from}) does not exist`); continue; }
    try {
      cached = req(c.file) as NativeAddon;
      return cached;
    } catch (err) {
      // a bad ALEXNET_MAX_ISA / ALEXNET_CONV value: the addon's own one-line message, not a loading problem
      if (/^ALEXNET_[A-Z_]+: /.test((err as Error).message)) throw new Error((err as Error).message);
      errors.push(explainLoadError(c.file, c.from, (err as Error).message));
    }
  }
  throw new Error(errors.join('; '));
}
