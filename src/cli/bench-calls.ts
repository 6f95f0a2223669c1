// How many calls each forward figure of `alexnet bench` times, for ours and every peer alike: 2x the training
// steps at batch 64 and 20x (at least 30) at batch 1, so that a figure spans about a second of a shared host's
// drift rather than a fifth. bench.ts passes these to each measuring process (tools/bench_torch.py as flags).
export function forwardCalls(steps: number): { batch64: number; batch1: number } {
  return { batch64: 2 * steps, batch1: Math.max(30, 20 * steps) };
}
