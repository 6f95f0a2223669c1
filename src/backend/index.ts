// The backend registry: the one list of backend names. Each entry is created lazily (its module is only
// imported when asked for), and 'auto' takes the highest-priority backend that starts on this machine.
// A new backend is one entry here; the CLI, API and bench take their choices from BACKEND_CHOICES.
// 'auto' never takes a software GPU adapter (SwiftShader, llvmpipe): asked for by name, webgpu may.
import type { Backend } from './backend.ts';
import { noteFp32Only, type Precision } from './native/precision.ts';

/** precision: 'bf16' asks the native backend for bf16 convolutions and fc layers (native/precision.ts). */
export interface BackendOptions { threads?: number; precision?: Precision }

export interface BackendEntry {
  readonly name: string;
  /** 'auto' tries higher priorities first. */
  readonly priority: number;
  readonly description: string;
  create(opts: BackendOptions): Promise<Backend>;
  /** How 'auto' creates it, when that differs (stricter) from asking by name. */
  createForAuto?(opts: BackendOptions): Promise<Backend>;
}

const BACKENDS = [
  { name: 'native', priority: 10, description: 'oneDNN + OpenBLAS C++ addon (CPU)',
    create: async (o: BackendOptions): Promise<Backend> => (await import('./native/index.ts')).createNativeBackend(o) },
  { name: 'webgpu', priority: 5, description: 'WGSL kernels on a WebGPU adapter (Dawn in Node, the browser\'s own)',
    create: async (): Promise<Backend> => (await import('./webgpu/index.ts')).createWebGpuBackend(),
    createForAuto: async (): Promise<Backend> => (await import('./webgpu/index.ts')).createWebGpuBackend({ allowSoftware: false }) },
  { name: 'ref', priority: 0, description: 'plain TypeScript reference kernels (the oracle)',
    create: async (): Promise<Backend> => (await import('./ref/index.ts')).createRefBackend() },
] as const satisfies readonly BackendEntry[];

/** A registered backend's name. */
export type RegisteredBackend = (typeof BACKENDS)[number]['name'];
/** What a user may ask for: a registered backend, or 'auto'. */
export type BackendName = RegisteredBackend | 'auto';

/** Registered names, highest priority first. */
export const BACKEND_NAMES: readonly RegisteredBackend[] = [...BACKENDS].sort((a, b) => b.priority - a.priority).map((e) => e.name);
/** Every accepted value of a --backend option: 'auto' first, then the registered names. */
export const BACKEND_CHOICES: readonly BackendName[] = ['auto', ...BACKEND_NAMES];

export function isBackendName(s: unknown): s is BackendName {
  return typeof s === 'string' && (BACKEND_CHOICES as readonly string[]).includes(s);
}

/** Throws unless s is a backend name; the message lists the choices. */
export function checkBackendName(s: unknown, what = 'backend'): BackendName {
  if (!isBackendName(s)) throw new Error(`unknown ${what} '${String(s)}' (expected ${BACKEND_CHOICES.join(', ')})`);
  return s;
}

export function backendEntry(name: RegisteredBackend): BackendEntry {
  return BACKENDS.find((e) => e.name === name)!;
}

export async function createBackend(name: BackendName = 'auto', opts: BackendOptions = {}): Promise<Backend> {
  checkBackendName(name);
  if (name !== 'auto') return withPrecisionNote(await backendEntry(name).create(opts), opts);
  const order: readonly BackendEntry[] = BACKEND_NAMES.map(backendEntry);
  const failed: string[] = [];
  for (const [i, e] of order.entries()) {
    try {
      const be = await (e.createForAuto ?? e.create)(opts);
      // one line for the fastest backend that could not start (a missing GPU is the usual case, not news)
      if (failed.length && process.env.ALEXNET_QUIET !== '1') console.warn(`[alexnet] ${failed[0]}; using ${be.name}`);
      return withPrecisionNote(be, opts);
    } catch (err) {
      if (i === order.length - 1) throw err;
      failed.push(`${e.name} backend unavailable (${(err as Error).message.split('\n')[0]})`);
    }
  }
  throw new Error('no backend registered');
}

// the native backend says itself when it cannot run bf16; the others have no bf16 path
function withPrecisionNote(be: Backend, opts: BackendOptions): Backend {
  if (be.name !== 'native') noteFp32Only(be.name, opts.precision);
  return be;
}

export type { Backend, Tensor } from './backend.ts';
export type { Precision } from './native/precision.ts';
