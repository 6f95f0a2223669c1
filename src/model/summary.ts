// Static per-layer summary (output shape, parameters, multiply-accumulates): no backend needed.
// MACs: conv = K * (C/groups) * R * S * P * Q, linear = in * out; relu, LRN, pools, dropout count 0.
import { outSize } from '../backend/backend.ts';
import type { SummaryRow, Variant } from './types.ts';
import { defaultInputSize, layerSpecs, normaliseArch } from './spec.ts';
import type { ArchConfig } from './spec.ts';

export interface SummaryOptions { variant: Variant; classes?: number; widthScale?: number; hidden?: number; inputSize?: number }

/** Rows in layer order for a square input (flatten is folded into the next row). */
export function summaryRows(a: ArchConfig, inputSize = defaultInputSize(a.variant)): SummaryRow[] {
  if (!Number.isInteger(inputSize) || inputSize < 1) throw new Error(`image size must be a positive integer, got ${inputSize}`);
  const rows: SummaryRow[] = [];
  let c = 3, h = inputSize, w = inputSize, f = 0; // f > 0 once flattened
  for (const l of layerSpecs(a, inputSize, inputSize)) {
    let params = 0, macs = 0;
    switch (l.kind) {
      case 'conv': {
        h = outSize(h, l.kernel, l.stride, l.pad); w = outSize(w, l.kernel, l.stride, l.pad);
        const wn = l.outC * (l.inC / l.groups) * l.kernel * l.kernel;
        params = wn + l.outC; macs = wn * h * w; c = l.outC;
        break;
      }
      case 'maxpool': h = outSize(h, l.kernel, l.stride, l.pad); w = outSize(w, l.kernel, l.stride, l.pad); break;
      case 'avgpool': h = l.out; w = l.out; break;
      case 'flatten': f = c * h * w; continue;
      case 'linear': params = l.inF * l.outF + l.outF; macs = l.inF * l.outF; f = l.outF; break;
      default: break; // relu, lrn, dropout keep the shape
    }
    rows.push({ name: l.name, kind: l.kind, outputShape: f > 0 ? [f] : [c, h, w], params, macs });
  }
  return rows;
}

export function summarize(opts: SummaryOptions): { rows: SummaryRow[]; totalParams: number; totalMacs: number } {
  const a = normaliseArch(opts);
  const rows = summaryRows(a, opts.inputSize ?? defaultInputSize(a.variant));
  return { rows, totalParams: rows.reduce((s, r) => s + r.params, 0), totalMacs: rows.reduce((s, r) => s + r.macs, 0) };
}

/** 55x55x96 style (H x W x C), or the feature count for flat rows. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 3 ? `${shape[1]}×${shape[2]}×${shape[0]}` : shape.join('×');
}

export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** 724.4M style. */
export function formatMacs(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** The readable table printed by `alexnet summary`. */
export function formatSummary(variant: Variant, inputSize: number, s: { rows: SummaryRow[]; totalParams: number; totalMacs: number }): string {
  const head = ['layer', 'kind', 'output', 'params', 'MACs'];
  const body = s.rows.map((r) => [r.name, r.kind, formatShape(r.outputShape), r.params ? formatInt(r.params) : '-', r.macs ? formatMacs(r.macs) : '-']);
  const foot = ['total', '', '', formatInt(s.totalParams), formatMacs(s.totalMacs)];
  const all = [head, ...body, foot];
  const width = head.map((_, j) => Math.max(...all.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((v, j) => (j >= 3 ? v.padStart(width[j]) : v.padEnd(width[j]))).join('  ').trimEnd();
  const rule = width.map((n) => '─'.repeat(n)).join('  ');
  return [`AlexNet (${variant}), input ${inputSize}×${inputSize}×3`, line(head), rule, ...body.map(line), rule, line(foot)].join('\n');
}
