// Shared by eval, predict and the demo: a model from a weights file, dataset label mapping.
import { createBackend, type BackendName, type Precision } from '../backend/index.ts';
import { createModel } from '../model/index.ts';
import type { Model, WeightsMeta } from '../model/types.ts';
import { readSynsets, type ImageFolder } from '../data/folder.ts';

export async function modelFromWeights(file: string, backend: BackendName = 'auto', threads?: number, precision?: Precision): Promise<{ model: Model; meta: WeightsMeta }> {
  // the tensors stay in the file until the backend reads them into the model (openWeights)
  const { openWeights } = await import('../io/weights.ts');
  const opened = await openWeights(file);
  const meta = opened.meta;
  const be = await createBackend(backend, { threads, precision });
  // int8 weights: int8 kernels where the backend has them, else dequantised with a notice
  if (opened.quantized) {
    const { createQuantizedModel } = await import('../model/quant-model.ts');
    return { model: await createQuantizedModel(opened.quantized, be), meta };
  }
  const model = await createModel({ variant: meta.variant, classes: meta.classes, backend: be, widthScale: meta.widthScale, hidden: meta.hidden });
  await model.loadStateDict(opened.sd);
  return { model, meta };
}

/** Maps a folder's class index to the model's output index: identity when the counts match (a model
 *  trained on this folder layout), else through a synset list (e.g. 1000-class ImageNet weights on
 *  Imagenette's wnid folders). */
export function labelMapping(ds: ImageFolder, meta: WeightsMeta, labels?: string): Int32Array {
  if (meta.classes === ds.classes.length) return Int32Array.from(ds.classes, (_, i) => i);
  if (labels) {
    const wnids = [...readSynsets(labels).keys()];
    if (wnids.length === meta.classes) {
      return Int32Array.from(ds.classes, (c) => {
        const i = wnids.indexOf(c);
        if (i < 0) throw new Error(`class folder "${c}" is not in ${labels}`);
        return i;
      });
    }
  }
  throw new Error(`the weights have ${meta.classes} classes but ${ds.root} has ${ds.classes.length} class folders` +
    (meta.classes === 1000 ? ' (for ImageNet weights on wnid folders pass --labels imagenet_synsets.txt)' : ''));
}

export function disposeModel(m: Model): void {
  const be = m.backend;
  m.dispose();
  try { be.dispose(); } catch { /* the model already released it */ }
}
