// A stand-in Model with paper-like layer names and random weights, for tests of the web routes that must not
// depend on the real engine (it also runs when src/model is not there yet). Pure JS, tiny, deterministic.
import type { Model, NamedArray, ParamEntry, SummaryRow, WeightsMeta } from '../../src/model/types.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0; return s / 4294967296; };
}

export function mockModel(classes = 10): { model: Model; meta: WeightsMeta } {
  const r = rng(1);
  const layers: SummaryRow[] = [
    { name: 'conv1', kind: 'conv', outputShape: [8, 15, 15], params: 8 * 3 * 11 * 11 + 8, macs: 8 * 3 * 121 * 225 },
    { name: 'relu1', kind: 'relu', outputShape: [8, 15, 15], params: 0, macs: 0 },
    { name: 'pool1', kind: 'maxpool', outputShape: [8, 7, 7], params: 0, macs: 0 },
    { name: 'conv2', kind: 'conv', outputShape: [12, 7, 7], params: 12 * 8 * 9 + 12, macs: 12 * 8 * 9 * 49 },
    { name: 'relu2', kind: 'relu', outputShape: [12, 7, 7], params: 0, macs: 0 },
    { name: 'fc8', kind: 'linear', outputShape: [classes], params: classes * 12 * 49 + classes, macs: classes * 12 * 49 },
  ];
  const params: ParamEntry[] = [];
  let off = 0;
  for (const [name, shape] of [['features.0.weight', [8, 3, 11, 11]], ['features.0.bias', [8]], ['features.3.weight', [12, 8, 3, 3]], ['features.3.bias', [12]], ['classifier.6.weight', [classes, 588]], ['classifier.6.bias', [classes]]] as [string, number[]][]) {
    const size = shape.reduce((a, b) => a * b, 1);
    params.push({ name, shape, offset: off, size }); off += size;
  }
  const arena = Float32Array.from({ length: off }, () => r() - 0.5);
  const sd = (): Record<string, NamedArray> => Object.fromEntries(params.map((p) => [p.name, { shape: p.shape, data: arena.slice(p.offset, p.offset + p.size) }]));
  const model = {
    variant: 'paper', classes, inputSize: 67, backend: undefined as never, params, paramCount: off,
    summary: () => layers,
    stateDict: async () => sd(),
    async activations(x: Float32Array) {
      // activations depend on the input so different images give different maps
      let s = 0; for (let i = 0; i < x.length; i += 97) s += x[i];
      const out: Record<string, NamedArray> = {};
      for (const l of layers) {
        const n = l.outputShape.reduce((a, b) => a * b, 1);
        const d = new Float32Array(n);
        for (let i = 0; i < n; i++) d[i] = Math.max(0, Math.sin(i * 0.37 + s) + (i % 13) * 0.05);
        out[l.name] = { shape: [1, ...l.outputShape], data: d };
      }
      return out;
    },
    dispose() {},
  } as unknown as Model;
  const meta: WeightsMeta = {
    variant: 'paper', classes, classNames: Array.from({ length: classes }, (_, i) => `class-${i}`),
    preprocessing: { resize: 72, crop: 67, mean: [0.485, 0.456, 0.406], std: [1 / 255, 1 / 255, 1 / 255] },
  };
  return { model, meta };
}
