// Loads addon/build/Release/alexnet_native.node (built by `npm run build:addon`). A missing or broken
// binary throws an Error naming the fix; createBackend('auto') then falls back to ref.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The C++ engine (addon/src/binding.cc): every method only enqueues; read/sync settle from the worker. */
export interface NativeEngine {
  alloc(id: number, shape: readonly number[], i32: boolean): void;
  upload(id: number, shape: readonly number[], data: Float32Array | Int32Array): void;
  view(id: number, base: number, offset: number, shape: readonly number[]): void;
  /** Overwrite an existing tensor in place with row-major data. */
  write(id: number, data: Float32Array | Int32Array): void;
  free(id: number): void;
  run(op: string, inputs: number[], outputs: number[], attrs: number[]): void;
  read(id: number, size: number, i32: boolean): Promise<Float32Array | Int32Array>;
  readSync(id: number, size: number, i32: boolean): Float32Array | Int32Array;
  sync(): Promise<void>;
  setThreads(n: number): void;
  /** ALEXNET_PROFILE=1 only: seconds and calls per "op inputShape" since the last call. */
  profile(): Record<string, [number, number]>;
  dispose(): void;
}

export interface NativeAddon {
  NativeEngine: new (threads: number) => NativeEngine;
  dnnlVersion: string;
}

export const ADDON_PATH = fileURLToPath(new URL('../../../addon/build/Release/alexnet_native.node', import.meta.url));
export const BUILD_HINT = 'native addon not built: run `npm run build:addon` (needs apt-get install libdnnl-dev libopenblas-dev)';

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  if (process.env.ALEXNET_NO_NATIVE === '1') throw new Error(`${BUILD_HINT} [disabled by ALEXNET_NO_NATIVE=1]`);
  if (!existsSync(ADDON_PATH)) throw new Error(BUILD_HINT);
  // libgomp reads its wait policy once, when the addon pulls it in. Its default spins idle threads for a while
  // after every parallel region; with the JS thread, the worker and other processes sharing few cores that
  // spinning steals the cores the next op needs (batch-1 forward ran 2.7x slower here). Passive unless set.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    cached = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  } catch (err) {
    throw new Error(`${BUILD_HINT} [loading ${ADDON_PATH} failed: ${(err as Error).message.split('\n')[0]}]`);
  }
  return cached;
}
