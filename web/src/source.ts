// Where the page's data comes from: `alexnet serve` (the /v1 routes), or the model itself running in
// this browser (static hosting, `?weights=URL`; see local/). Sections ask `source()` and never know which.
import { api, type Activations, type Architecture, type Filters } from './api.ts';

/** A sample photo; label and inClass when the server knows what it shows and whether the model has that class. */
export interface Sample { name: string; url: string; label?: string; inClass?: boolean }

export interface Source {
  readonly kind: 'server' | 'local';
  /** What computes the results: 'webgpu' or 'ref' in the browser, 'server' for alexnet serve. */
  backend(): Promise<string>;
  architecture(): Promise<Architecture>;
  filters(): Promise<Filters>;
  activations(image: Blob): Promise<Activations>;
  samples(): Promise<Sample[]>;
}

export function serverSource(): Source {
  return {
    kind: 'server',
    backend: async () => 'server',
    architecture: () => api<Architecture>('/v1/architecture'),
    filters: () => api<Filters>('/v1/filters'),
    activations: (bytes) => api<Activations>('/v1/activations?top=16', { method: 'POST', headers: { 'content-type': bytes.type || 'application/octet-stream' }, body: bytes }),
    samples: async () => (await api<{ samples: { file: string; label?: string; inClass?: boolean }[] }>('/v1/samples')).samples
      .map(({ file, label, inClass }) => ({ name: file, url: `/v1/samples/${encodeURIComponent(file)}`, label, inClass })),
  };
}

let current: Source | undefined;
export function setSource(s: Source): void { current = s; }
export function source(): Source {
  current ??= serverSource();
  return current;
}
