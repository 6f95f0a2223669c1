// Weights file -> ready Model + metadata (for `alexnet viz`; the server gets its model from buildServer).
import { loadWeights } from '../io/weights.ts';
import { createModel } from '../model/index.ts';
import type { Model, WeightsMeta } from '../model/types.ts';
import type { BackendName } from '../backend/index.ts';

export async function modelFromWeights(file: string, backend: BackendName = 'auto'): Promise<{ model: Model; meta: WeightsMeta }> {
  const { sd, meta } = await loadWeights(file);
  const model = await createModel({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden, backend });
  await model.loadStateDict(sd);
  return { model, meta };
}
