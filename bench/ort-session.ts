// The one set of onnxruntime-node session options every CPU peer bench uses: the same thread count as ours, one
// inter-op thread, sequential execution, all graph optimisations.
// spin: false turns off the intra-op pool's spinning after each run. Only for benches that run ours and
// onnxruntime in ONE process (forward1-peer.ts): there onnxruntime's spinning threads hold the two cores while our
// next call runs (our batch-1 forward went from about 13 to 17-25 ms per image beside them); onnxruntime's own
// time did not change with it off. Its own process (onnx_peer.ts, what `alexnet bench --peers` runs) keeps the default.
import type { InferenceSession } from 'onnxruntime-node';

export function ortSessionOptions(threads: number, opts: { spin?: boolean } & InferenceSession.SessionOptions = {}): InferenceSession.SessionOptions {
  const { spin = true, ...rest } = opts;
  return {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    ...(spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    ...rest,
  };
}
