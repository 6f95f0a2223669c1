// What `alexnet bench` prints besides the raw figures: the roofline (direct-convolution FLOPs per image at the
// measured GEMM peak), the kernel chosen per layer, and the issue's targets with met / not met. Pure functions.
import { outSize } from '../backend/backend.ts';
import type { KernelDecision } from '../backend/native/addon.ts';
import { describeDecision } from '../backend/native/kernels.ts';
import { defaultInputSize, layerSpecs, normaliseArch } from '../model/spec.ts';
import { summarize } from '../model/summary.ts';
import type { Variant } from '../model/types.ts';

export interface Figures { forward: { batch1: number; batch64: number }; train: { batch128: number }; peakRssMiB: number }

/** Direct-convolution FLOPs per image (2 per multiply-accumulate of every conv and fc): forward, and a training
 *  step counted as 3x forward (forward, input gradient, weight gradient; 4.29 GFLOP for torchvision at 224; conv1
 *  needs no input gradient, so the real work is 2% less and Winograd needs less again). */
export function rooflineFlops(variant: Variant): { forward: number; train: number } {
  const forward = 2 * summarize({ variant }).totalMacs;
  return { forward, train: 3 * forward };
}

/** Each figure as a fraction of what the peak allows: img/s * FLOPs per image / (GFLOP/s * 1e9). */
export function rooflineFractions(f: Partial<Figures>, variant: Variant, peakGflops: number): { batch1: number; batch64: number; batch128: number } {
  const r = rooflineFlops(variant), peak = peakGflops * 1e9;
  return {
    batch1: ((f.forward?.batch1 ?? 0) * r.forward) / peak,
    batch64: ((f.forward?.batch64 ?? 0) * r.forward) / peak,
    batch128: ((f.train?.batch128 ?? 0) * r.train) / peak,
  };
}

/** "292.9 (60%)": a figure and its share of the roofline; "-" when missing. */
export const withRoof = (v: number | undefined, frac: number | undefined): string =>
  v ? `${v.toFixed(1)}${frac ? ` (${(100 * frac).toFixed(0)}%)` : ''}` : '-';

/** The network's layer and pass behind a decision key, from the shapes in the key; undefined when none matches. */
export function layerOf(d: KernelDecision, variant: Variant): { layer: string; pass: string; batch: number } | undefined {
  const { op, shape } = describeDecision(d);
  const parts = shape.split('|');
  const S = defaultInputSize(variant);
  let c = 3, h = S, f = 0;
  for (const l of layerSpecs(normaliseArch({ variant }), S, S)) {
    if (l.kind === 'conv') {
      const x = `${c}x${h}x${h}`, w = `${l.outC}x${l.inC / l.groups}x${l.kernel}x${l.kernel}`;
      const [xd, wd, attrs] = parts;
      const batch = Number(xd?.split('x')[0]);
      if (op.startsWith('conv2d') && xd?.endsWith(`x${x}`) && xd.split('x').length === 4 && wd === w && attrs?.startsWith(`${l.stride},${l.pad},${l.groups}`)) {
        return { layer: l.name, pass: op === 'conv2d' ? 'forward' : attrs.endsWith(',dx') ? 'backward (dw, dx)' : 'backward (dw)', batch };
      }
      h = outSize(h, l.kernel, l.stride, l.pad); c = l.outC;
    } else if (l.kind === 'maxpool') {
      const [xd, attrs] = parts;
      // "maxPool.eval": an eval forward's pool, whose argmax nothing reads
      if (op.startsWith('maxPool') && xd?.split('x').slice(1).join('x') === `${c}x${h}x${h}` && attrs === `${l.kernel},${l.stride},${l.pad}`) {
        return { layer: l.name, pass: op === 'maxPool.eval' ? 'forward (eval: no argmax)' : 'forward (its backward follows)', batch: Number(xd.split('x')[0]) };
      }
      h = outSize(h, l.kernel, l.stride, l.pad);
    } else if (l.kind === 'avgpool') {
      h = l.out;
    } else if (l.kind === 'linear') {
      f = l.inF;
      // gemmShape: "<ta><tb>|MxNxK"; forward y (B x O x I), dx (B x I x O), dw (O x I x B)
      const [t, mnk] = parts, [m, n, k] = (mnk ?? '').split('x').map(Number);
      const O = l.outF;
      if ((op === 'linear' || op === 'linear.fc16') && t === 'NT' && n === O && k === f) return { layer: l.name, pass: 'forward', batch: m };
      // the batch-1 GEMV's key: "1xOxI", no transpose flags
      const [g1, gO, gI] = (t ?? '').split('x').map(Number);
      if (op === 'linear.gemv8' && g1 === 1 && gO === O && gI === f) return { layer: l.name, pass: 'forward: GEMV or SGEMM', batch: 1 };
      if (op === 'linearBackward.dx' && t === 'NN' && n === f && k === O) return { layer: l.name, pass: 'backward dx', batch: m };
      if (op === 'linearBackward.dw' && t === 'TN' && m === O && n === f) return { layer: l.name, pass: 'backward dw', batch: k };
    }
  }
  return undefined;
}

/** The kernel chosen per layer, pass and batch, in network order, then any instance no layer matches. */
export function kernelsByLayer(decisions: readonly KernelDecision[], variant: Variant): string[] {
  const order = layerSpecs(normaliseArch({ variant }), defaultInputSize(variant), defaultInputSize(variant)).map((l) => l.name);
  const rows = decisions.map((d) => {
    const at = layerOf(d, variant), desc = describeDecision(d);
    const fc = desc.op.startsWith('linear');
    const kernel = d.kernel ?? (fc ? (d.choice === 'own' ? 'openblas' : 'oneDNN sgemm') : d.choice === 'own' ? 'own' : 'oneDNN');
    // fc instances: "linear" is OpenBLAS against oneDNN; "linear.fc16" also has our AVX-512 tiles among ours (the
    // decision keeps the fastest of ours); "linear.gemv8" is our GEMV against the SGEMM chosen for batch 1
    const [own, other] = !fc ? ['own', 'oneDNN'] : desc.op === 'linear.gemv8' ? ['gemv', 'sgemm'] : [desc.op === 'linear' ? 'openblas' : 'openblas/own', 'oneDNN'];
    return {
      rank: at ? order.indexOf(at.layer) : order.length, batch: at?.batch ?? 0,
      cells: [at?.layer ?? desc.op, at?.pass ?? desc.shape, String(at?.batch ?? '?'), desc.layout, kernel,
        `${own} ${d.ownMs.toFixed(2)} ms, ${other} ${d.dnnlMs.toFixed(2)} ms`],
    };
  }).sort((a, b) => a.batch - b.batch || a.rank - b.rank);
  const head = ['layer', 'pass', 'batch', 'layouts', 'chosen', 'timed'];
  const widths = head.map((x, i) => Math.max(x.length, ...rows.map((r) => r.cells[i].length)));
  const line = (r: string[]) => r.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), ...rows.map((r) => line(r.cells))];
}

export interface Target { what: string; want: number; got: number | undefined; met: boolean | undefined }

const ratioOf = (a: number | undefined, b: number | undefined) => (a && b ? a / b : undefined);
const target = (what: string, want: number, got: number | undefined, atMost = false): Target =>
  ({ what, want, got, met: got === undefined ? undefined : atMost ? got <= want : got >= want });

/** The issue's targets from one run: native ISA (against PyTorch and the faster of the two onnxruntime graphs,
 *  so a weakness of our export cannot flatter us) and, when measured, the AVX2-capped case against PyTorch. */
export function targets(native: { ours: Partial<Figures>; pytorch?: Partial<Figures>; ort?: Partial<Figures>[] },
  capped?: { ours: Partial<Figures>; pytorch?: Partial<Figures> }): Target[] {
  const best = (get: (f: Partial<Figures>) => number | undefined) => {
    const v = (native.ort ?? []).map(get).filter((x): x is number => !!x);
    return v.length ? Math.max(...v) : undefined;
  };
  const o = native.ours, p = native.pytorch;
  const t: Target[] = [
    target('training step b128 vs PyTorch', 1.4, ratioOf(o.train?.batch128, p?.train?.batch128)),
    target('forward b64 vs onnxruntime', 1.15, ratioOf(o.forward?.batch64, best((f) => f.forward?.batch64))),
    target('forward b1 vs onnxruntime', 1.0, ratioOf(o.forward?.batch1, best((f) => f.forward?.batch1))),
    target('peak memory vs PyTorch', 1.0, ratioOf(o.peakRssMiB, p?.peakRssMiB), true),
  ];
  if (capped) {
    t.push(target('ALEXNET_MAX_ISA=avx2: training step b128 vs PyTorch (capped)', 1.4, ratioOf(capped.ours.train?.batch128, capped.pytorch?.train?.batch128)));
    t.push(target('ALEXNET_MAX_ISA=avx2: forward b64 vs PyTorch (capped)', 1.5, ratioOf(capped.ours.forward?.batch64, capped.pytorch?.forward?.batch64)));
  }
  return t;
}

/** "  met      training step b128 vs PyTorch: 1.52x (want >= 1.4x)" */
export function targetLines(ts: readonly Target[]): string[] {
  // two decimals, or three where two would round a miss onto the target ("1.15x NOT met" read as a bug)
  const fmt = (t: Target) => {
    const two = t.got!.toFixed(2);
    return `${t.met === false && Number(two) === t.want ? t.got!.toFixed(3) : two}x`;
  };
  return ts.map((t) => `  ${t.met === undefined ? 'n/a    ' : t.met ? 'met    ' : 'NOT met'}  ${t.what}: ${t.got === undefined ? '-' : fmt(t)} (want ${t.what.includes('memory') ? '<=' : '>='} ${t.want}x)`);
}
