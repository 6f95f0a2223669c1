// Backend registry: `createBackend('auto')` gives native when the addon loads, else ref.
import type { Backend } from './backend.ts';
import { createRefBackend } from './ref/index.ts';

export type BackendName = 'ref' | 'native' | 'auto';
export interface BackendOptions { threads?: number }

export async function createBackend(name: BackendName = 'auto', opts: BackendOptions = {}): Promise<Backend> {
  if (name === 'ref') return createRefBackend();
  try {
    const { createNativeBackend } = await import('./native/index.ts');
    return createNativeBackend(opts);
  } catch (err) {
    if (name === 'native') throw err;
    if (process.env.ALEXNET_QUIET !== '1') {
      console.warn(`[alexnet] native backend unavailable (${(err as Error).message.split('\n')[0]}); using ref`);
    }
    return createRefBackend();
  }
}

export type { Backend, Tensor } from './backend.ts';
