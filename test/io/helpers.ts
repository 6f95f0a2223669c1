// Test helpers: random AlexNet-shaped state_dicts of any width, without needing src/model.
import type { StateDict, Variant, WeightsMeta } from '../../src/model/types.ts';
import { defaultPreprocessing } from '../../src/model/preprocessing.ts';
import { scaleWidth } from '../../src/model/spec.ts';

/** Widths as src/model/spec.ts derives them from widthScale. */
export function widths(variant: Variant, widthScale: number): number[] {
  const g = variant === 'paper' ? 2 : 1;
  return (variant === 'paper' ? [96, 256, 384, 384, 256] : [64, 192, 384, 256, 256]).map((c) => scaleWidth(c, widthScale, g));
}

export function randomStateDict(variant: Variant, c: number[] | number, hidden: number, classes: number, seed = 1): StateDict {
  const [C1, C2, C3, C4, C5] = typeof c === 'number' ? widths(variant, c) : c;
  const g = variant === 'paper' ? 2 : 1;
  let s = seed >>> 0;
  const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296 - 0.5; };
  const t = (shape: number[], scale = 0.1) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rnd() * scale;
    return { shape, data };
  };
  return {
    'features.0.weight': t([C1, 3, 11, 11]), 'features.0.bias': t([C1]),
    'features.3.weight': t([C2, C1 / g, 5, 5]), 'features.3.bias': t([C2]),
    'features.6.weight': t([C3, C2, 3, 3]), 'features.6.bias': t([C3]),
    'features.8.weight': t([C4, C3 / g, 3, 3]), 'features.8.bias': t([C4]),
    'features.10.weight': t([C5, C4 / g, 3, 3]), 'features.10.bias': t([C5]),
    'classifier.1.weight': t([hidden, C5 * 36], 0.05), 'classifier.1.bias': t([hidden]),
    'classifier.4.weight': t([hidden, hidden], 0.05), 'classifier.4.bias': t([hidden]),
    'classifier.6.weight': t([classes, hidden], 0.05), 'classifier.6.bias': t([classes]),
  };
}

export function metaFor(variant: Variant, classes: number, extra: Partial<WeightsMeta> = {}): WeightsMeta {
  return { variant, classes, classNames: Array.from({ length: classes }, (_, i) => `c${i}`), preprocessing: defaultPreprocessing(variant), ...extra };
}

/** The fixtures' input (tools/gen_interchange_fixtures.py): x[i] = ((i * 2654435761) mod 2^32) / 2^32 * 2 - 1. */
export function formulaInput(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((Math.imul(i, 2654435761) >>> 0) / 4294967296) * 2 - 1;
  return x;
}

export const FIXTURES = new URL('../fixtures/io/', import.meta.url);
