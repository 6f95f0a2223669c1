// The page's side of the in-browser model: a Source whose answers come from local/worker.ts.
import type { Activations, Architecture, Filters } from '../api.ts';
import type { Source } from '../source.ts';
import type { Loaded, Prefer } from './worker.ts';

export interface LocalSource extends Source {
  /** Resolves when the weights are downloaded and the model is built (rejects with a plain message). */
  readonly ready: Promise<Loaded>;
}

export function localSource(weightsUrl: string, prefer: Prefer, onProgress: (text: string) => void): LocalSource {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  worker.onmessage = (e: MessageEvent<{ id?: number; ok?: boolean; value?: unknown; error?: string; progress?: string }>) => {
    const m = e.data;
    if (m.progress !== undefined) { onProgress(m.progress); return; }
    const w = waiting.get(m.id!);
    if (!w) return;
    waiting.delete(m.id!);
    if (m.ok) w.resolve(m.value); else w.reject(new Error(m.error));
  };
  worker.onerror = (e) => { for (const w of waiting.values()) w.reject(new Error(`the model worker failed: ${e.message}`)); waiting.clear(); };
  const call = <T>(op: string, args: unknown[] = [], transfer: Transferable[] = []): Promise<T> => new Promise<T>((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker.postMessage({ id, op, args }, transfer);
  });
  // the worker resolves URLs against its own script: make the weights URL absolute against the page
  const ready = call<Loaded>('load', [new URL(weightsUrl, location.href).href, prefer]);
  const after = <T>(op: string, args: unknown[] = [], transfer: Transferable[] = []) => ready.then(() => call<T>(op, args, transfer));
  return {
    kind: 'local',
    ready,
    backend: async () => (await ready).backend,
    architecture: () => after<Architecture>('architecture'),
    filters: () => after<Filters>('filters'),
    activations: async (image) => {
      const bytes = await image.arrayBuffer();
      return after<Activations>('activations', [bytes, image.type], [bytes]);
    },
    samples: async () => [],
  };
}
