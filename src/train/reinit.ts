// Optional re-initialisation for short runs. The model's own init is the paper's N(0, 0.01)
// (paper) or PyTorch's default (torchvision); without batch norm both start learning slowly.
//   he:   Kaiming normal (fan-in, ReLU gain), zero biases, N(0, 0.01) classifier.
//   lsuv: he, then each layer in order rescaled so its output has unit variance on a real batch
//         (Mishkin & Matas 2015, "All you need is a good init"). This also corrects for the
//         adaptive average pool copying small pool5 maps (inputs below ~200 px) into fc6.
import type { Model } from '../model/types.ts';
import { normaliseArch, paramSpecs } from '../model/spec.ts';
import { Rng, STREAM, hash32 } from '../util/rng.ts';

export type InitScheme = 'model' | 'he' | 'lsuv';

/** state_dict prefix -> activation name of that layer's (pre-ReLU) output, from the model's spec;
 *  every parameter layer but the classifier (fc8 keeps its N(0, 0.01)). */
const layerOut = (model: Model): Record<string, string> =>
  Object.fromEntries(paramSpecs(normaliseArch({ variant: model.variant })).slice(0, -1).map((l) => [l.param, l.name]));

function std(a: Float32Array): number {
  let s = 0, ss = 0;
  for (const v of a) { s += v; ss += v * v; }
  const m = s / a.length;
  return Math.sqrt(Math.max(1e-20, ss / a.length - m * m));
}

export async function reinitialise(model: Model, scheme: InitScheme, seed: number, batch?: { x: Float32Array; shape: [number, number, number, number] }): Promise<void> {
  if (scheme === 'model') return;
  const { params } = await model.getArenas();
  const p = new Float32Array(params.length);
  const r = new Rng(hash32(seed, STREAM.init));
  const weights = model.params.filter((e) => e.name.endsWith('.weight'));
  const last = weights.at(-1)!.name;
  for (const e of weights) {
    const fanIn = e.size / e.shape[0];
    const sd = e.name === last ? 0.01 : Math.sqrt(2 / fanIn);
    for (let i = 0; i < e.size; i++) p[e.offset + i] = sd * r.normal();
  }
  await model.setArenas({ params: p, momentum: new Float32Array(params.length) });
  if (scheme !== 'lsuv') return;
  if (!batch) throw new Error('lsuv init needs a data batch');
  const LAYER_OUT = layerOut(model);
  for (const e of weights) {
    const out = LAYER_OUT[e.name.replace(/\.weight$/, '')];
    if (!out) continue;
    for (let it = 0; it < 3; it++) {
      const acts = await model.activations(batch.x, batch.shape);
      const s = std(acts[out].data);
      if (Math.abs(s - 1) < 0.05) break;
      for (let i = 0; i < e.size; i++) p[e.offset + i] /= s;
      await model.setArenas({ params: p, momentum: new Float32Array(params.length) });
    }
  }
}
