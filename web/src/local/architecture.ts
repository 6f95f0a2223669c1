// The architecture summary the page draws, from a model in this browser: the same rows, totals and
// parameter tensors as alexnet serve's /v1/architecture (src/server/web.ts builds the same object).
import type { AlexNet } from '../../../src/model/alexnet.ts';
import type { WeightsMeta } from '../../../src/model/types.ts';
import type { Architecture } from '../api.ts';

export function architectureOf(model: AlexNet, meta: WeightsMeta): Architecture {
  const inputSize = meta.preprocessing?.crop ?? model.inputSize;
  const rows = model.summary(inputSize);
  // parameter tensors belong to the rows that have parameters, in state_dict order (weight, bias)
  const params = [...model.params];
  const layers = rows.map((r) => {
    const own: { name: string; shape: number[] }[] = [];
    let left = r.params;
    while (left > 0 && params.length) { const p = params.shift()!; own.push({ name: p.name, shape: p.shape }); left -= p.size; }
    return { ...r, tensors: own };
  });
  return {
    variant: model.variant, classes: model.classes, inputShape: [3, inputSize, inputSize],
    totals: { params: model.paramCount, macs: rows.reduce((s, r) => s + r.macs, 0) },
    widthScale: meta.widthScale, hidden: meta.hidden, layers,
  };
}
