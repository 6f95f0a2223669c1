// LRN on oneDNN (addon/src/lrn.cc): 'paper' alpha is passed as alpha*size (oneDNN divides by size).
// oneDNN's window is symmetric, so even sizes are not covered, and its normaliser needs k > 0
// (k = 0 with alpha > 0 is valid for the registry): both go through the host fallback.
import type { LrnAttrs } from '../backend.ts';

export function lrnSupported(a: LrnAttrs): boolean {
  return Number.isInteger(a.size) && a.size % 2 === 1 && a.k > 0;
}
