// Safetensors bytes -> checked weights (state dict + metadata), with no file system: the decoder the format
// registry (weights.ts) uses for safetensors, and the one the browser page imports directly.
import type { StateDict, WeightsMeta } from '../model/types.ts';
import { checkShapes, type ArchConfig } from '../model/spec.ts';
import { completeMeta, formatError, metaFromStrings, type MetaOverrides } from './meta.ts';
import { decodeSafetensors } from './safetensors.ts';

/** DataParallel checkpoints prefix every name with "module.". */
export function stripPrefix<T>(d: Record<string, T>): Record<string, T> {
  const names = Object.keys(d);
  if (!names.length || !names.every((n) => n.startsWith('module.'))) return d;
  return Object.fromEntries(names.map((n) => [n.slice(7), d[n]]));
}

/** Metadata and shapes are checked against the architecture before any tensor is read; `owned`: the caller
 *  drops b afterwards, so aligned F32 tensors may be views of it. A metadata mean image file is left named
 *  (only a reader with a folder can resolve it). */
export function decodeSafetensorsWeights(b: Uint8Array, what: string, over: MetaOverrides = {}, owned = false): { sd: StateDict; meta: WeightsMeta; warnings: string[] } {
  let facts: ArchConfig | undefined;
  let partial: Partial<WeightsMeta> | undefined;
  const { tensors } = decodeSafetensors(b, what, (shapes, metadata) => {
    partial = metaFromStrings(metadata, what); // metadata first: its sizes are checked before any tensor is read
    facts = checkShapes(stripPrefix(shapes), what, undefined, formatError);
  }, { view: owned });
  const sd = stripPrefix(tensors);
  return { sd, meta: completeMeta(sd, partial, over, what, facts), warnings: [] };
}
