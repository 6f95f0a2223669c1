// The architecture summary the explorer draws: every layer's row (shapes, parameters, MACs) with the
// parameter tensors it owns, and the totals. One builder for `alexnet serve`'s /v1/architecture and the
// static page's in-browser model.
import type { Model, SummaryRow, WeightsMeta } from '../model/types.ts';

export interface ArchitectureSummary {
  variant: Model['variant']; classes: number; inputShape: [number, number, number];
  totals: { params: number; macs: number };
  widthScale?: number; hidden?: number;
  layers: (SummaryRow & { tensors: { name: string; shape: number[] }[] })[];
}

type Described = Pick<Model, 'variant' | 'classes' | 'inputSize' | 'params' | 'paramCount' | 'summary'>;

export function architectureOf(model: Described, meta: WeightsMeta): ArchitectureSummary {
  const inputSize = meta.preprocessing?.crop ?? model.inputSize;
  const rows = model.summary(inputSize);
  // parameter tensors belong to the rows that have parameters, in state_dict order (weight, bias)
  const params = [...model.params];
  const layers = rows.map((r) => {
    const own: { name: string; shape: number[] }[] = [];
    let left = r.params;
    while (left > 0 && params.length) { const p = params.shift()!; own.push({ name: p.name, shape: [...p.shape] }); left -= p.size; }
    return { ...r, tensors: own };
  });
  return {
    variant: model.variant, classes: model.classes, inputShape: [3, inputSize, inputSize],
    totals: { params: model.paramCount, macs: rows.reduce((s, r) => s + r.macs, 0) },
    widthScale: meta.widthScale, hidden: meta.hidden, layers,
  };
}
