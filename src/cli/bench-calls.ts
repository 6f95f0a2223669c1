// How many calls each forward figure of `alexnet bench` times, for ours and every peer alike: 4x the training
// steps at batch 64 and 60x (at least 60) at batch 1, so that a figure spans about two seconds of a shared host's
// drift. With 2x and 20x (about 0.6 s a figure), two onnxruntime figures of the same network
// (our export and torch.onnx.export's) in one run differed by up to 11% at batch 1 and 13% at batch 64, the
// faster one changing from run to run (fresh clones, 1-2 Dec 2026), and the bench compares against the faster of
// the two. bench.ts passes these to each measuring process (tools/bench_torch.py as flags).
export function forwardCalls(steps: number): { batch64: number; batch1: number } {
  return { batch64: 4 * steps, batch1: Math.max(60, 60 * steps) };
}
