// Backend registry: `createBackend('auto')` gives native when the addon loads, else a hardware WebGPU
// adapter (never a software one), else ref.
import type { Backend } from './backend.ts';
import { createRefBackend } from './ref/index.ts';

export type BackendName = 'ref' | 'native' | 'webgpu' | 'auto';
export interface BackendOptions { threads?: number }

export async function createBackend(name: BackendName = 'auto', opts: BackendOptions = {}): Promise<Backend> {
  if (name === 'ref') return createRefBackend();
  if (name === 'webgpu') return (await import('./webgpu/index.ts')).createWebGpuBackend();
  try {
    const { createNativeBackend } = await import('./native/index.ts');
    return createNativeBackend(opts);
  } catch (err) {
    if (name === 'native') throw err;
    const gpu = await import('./webgpu/index.ts').then((m) => m.createWebGpuBackend({ allowSoftware: false })).catch(() => undefined);
    if (gpu) return gpu;
    if (process.env.ALEXNET_QUIET !== '1') {
      console.warn(`[alexnet] native backend unavailable (${(err as Error).message.split('\n')[0]}); using ref`);
    }
    return createRefBackend();
  }
}

export type { Backend, Tensor } from './backend.ts';
