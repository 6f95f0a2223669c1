// Every numerical tolerance used by the tests, in one table, with the reason for each.
// A check passes when |a - b| <= atol + rtol * |b| elementwise (b is the reference).

export interface Tol { atol: number; rtol: number; why: string }

export const TOL = {
  /** Central differences in float64 on the ref kernels (the ref kernels run in f64 for gradcheck). */
  gradcheck: { atol: 1e-6, rtol: 1e-4, why: 'f64 central differences with h=1e-5: truncation O(h^2) and cancellation O(eps/h)' },
  /** Central differences through float32 kernels. */
  gradcheckF32: { atol: 2e-3, rtol: 2e-2, why: 'f32 central differences with h=1e-2: cancellation ~ 1e-7/1e-2 relative error per term' },
  /** ref op vs PyTorch op on small shapes. */
  refVsTorchOp: { atol: 1e-5, rtol: 1e-4, why: 'f32 sums of <= ~1e3 terms in a different order than PyTorch' },
  /** ref whole model (reduced width) vs PyTorch: logits, loss, gradients. */
  refVsTorchModel: { atol: 1e-4, rtol: 2e-3, why: 'f32 accumulation through 8 layers in a different order; errors grow with depth' },
  /** Losses after 5 SGD steps vs PyTorch. */
  refVsTorchSgd: { atol: 1e-4, rtol: 1e-3, why: 'small f32 differences compound over 5 updates' },
  /** full-size forward (both variants) vs PyTorch on the same weights: logits. */
  fullModelLogits: { atol: 2e-3, rtol: 2e-2, why: 'f32 dot products of up to 9216 terms (fc6) summed in different orders' },
  /** native op vs ref op. */
  nativeVsRef: { atol: 1e-4, rtol: 1e-3, why: 'own Winograd transforms (F(4,3), F(2,5)) round differently, and blocked GEMMs with FMA sum in another order; f32' },
  /** native Winograd convs at AlexNet's sizes vs ref, every value divided by its tensor's max |ref|. */
  winogradScaled: { atol: 5e-5, rtol: 0, why: 'f32 Winograd: transformed tiles carry larger intermediates (up to 8x the inputs, 1/24 factors in G), and dw sums them over every tile; measured worst 1.1e-5 of max|ref| (y, 3x3), 8.3e-6 (dw, 5x5); oneDNN direct is ~5x tighter' },
  /** native direct convs (conv_direct.cc) at AlexNet's sizes and odd ones vs ref, every value divided by its tensor's max |ref|. */
  directScaled: { atol: 2e-5, rtol: 0, why: 'f32 direct conv: one FMA chain per output over up to 3456 taps (conv4), summed in (8-channel block, kh, kw, channel) order against ref\'s; no transform, so about 5x tighter than winogradScaled; measured worst 2.5e-6 of max|ref| (conv4 at batch 1)' },
  /** webgpu op vs ref op (small shapes). */
  webgpuVsRef: { atol: 1e-4, rtol: 1e-3, why: 'GPU reduction order: 16-wide gemm tiles, 64-wide workgroup tree sums (conv dw/db, softmax) and f32 exp/pow vs ref f64 intermediates (softmax, lrn, sgd); f32' },
  /** Losses of a few SGD steps of a reduced-width model on webgpu vs the same steps on ref. */
  webgpuTrainLosses: { atol: 1e-4, rtol: 1e-3, why: 'per-op webgpu rounding (webgpuVsRef) compounds through 8 layers and 5 updates; same weights, batches and dropout masks' },
  /** Weights after those steps, webgpu vs ref. */
  webgpuTrainWeights: { atol: 1e-4, rtol: 1e-3, why: 'the weights move by lr*grad per step; gradient differences of GPU reduction order are a small fraction of that' },
  /** Weights written as f16 safetensors and read back vs the f32 originals. */
  f16Weights: { atol: 2 ** -25, rtol: 2 ** -11, why: 'round to nearest binary16: at most half an ulp of an 11-bit significand (2^-11 relative); below 2^-14 the spacing is 2^-24, so 2^-25 absolute' },
  /** ONNX (onnxruntime) vs our logits. */
  onnxVsOurs: { atol: 1e-3, rtol: 1e-2, why: 'onnxruntime MLAS kernels sum in a different order; f32' },
  /** ref whole model vs PyTorch, each gradient divided by its tensor's max |value| (tightens tiny gradients). */
  refVsTorchModelGradScaled: { atol: 1e-5, rtol: 2e-3, why: 'gradients scaled to max|g| = 1; measured worst ~1e-6 (f32 sums in a different order)' },
  /** End-to-end central differences through the whole small model in ref f64 mode. */
  modelGradcheckF64: { atol: 1e-7, rtol: 1e-4, why: 'f64 central differences with h=1e-5 through the whole small model: truncation O(h^2), cancellation O(1e-16/h); measured worst 1.3e-9' },
  /** API probabilities (f32 softmax) vs the test's own f64 softmax of the same logits. */
  apiSoftmax: { atol: 1e-6, rtol: 1e-5, why: 'one f32 exp/sum/divide per element vs f64; the logits are identical' },
  /** One image's result inside a dynamic batch vs the same image alone (batch of 1). */
  batchedVsSingle: { atol: 1e-5, rtol: 1e-4, why: 'GEMM blocking may differ with batch size (native); same f32 math, different summation order' },
  /** Training losses of a run interrupted and resumed from its checkpoint vs the same run uninterrupted. */
  resumeLosses: { atol: 1e-6, rtol: 1e-5, why: 'same f32 weights/momentum restored bit for bit and the same batches/dropout (counter-based RNG); only multi-threaded kernel reduction order could differ, measured 0 on ref' },
  /** PyTorch's own forward, regenerated now vs the committed fixture (same seeded weights, same input). */
  torchRegenerated: { atol: 1e-6, rtol: 1e-5, why: 'PyTorch picks its CPU kernels (AVX2 vs AVX-512) by machine: last-bit differences; measured 3.6e-7 (fc7) regenerating on a Zen 5 what another CPU wrote' },
  /** native bf16 convs and fc layers vs ref, every value divided by its tensor's max |ref|. */
  bf16Scaled: { atol: 8e-3, rtol: 0, why: 'bf16 keeps an 8-bit mantissa: inputs, weights and dy round by up to 2^-9 relative (products up to 2^-8), summed in f32; random-sign errors grow like sqrt(terms) as the values do, so relative to max|ref| they stay near 2^-8; measured worst 3.1e-3 (dw), 2.6e-3 (y)' },
  /** Training losses of a few SGD steps, native bf16 vs ref (f32). */
  bf16TrainLosses: { atol: 2e-4, rtol: 2e-4, why: 'bf16 rounding (8-bit mantissa) of every conv/fc input through 8 layers and 3 updates; the loss is a mean over the batch, so random-sign errors mostly cancel; measured worst 2.6e-5 (reduced-width torchvision, batch 8)' },
  /** Weights after those steps, native bf16 vs ref. */
  bf16TrainWeights: { atol: 2e-4, rtol: 1e-3, why: 'f32 master weights moved by lr * grad (momentum, decay in f32); only the gradients carry bf16 error (about 2^-8 of them) times a small step; measured worst 6.7e-5' },
  /** int8 forward (native oneDNN int8) vs the f32 ref forward of the same weights, calibrated on the same inputs,
   *  every value divided by max |ref logit|. */
  int8VsF32: { atol: 0.03, rtol: 0, why: 'per-channel s8 weights (steps of max|w|/127) and u8/s8 activations (steps of the calibrated range/255) round every layer\'s input; the errors add up over 8 layers of a random-weight reduced model; measured worst 8.7e-3 of max|logit| (paper at 99, LRN and the 2x2 -> 6x6 pool), 1.5e-3 (torchvision at 64)' },
  /** Step losses of N MPI ranks x B/N samples vs 1 process x B samples (same samples, crops and dropout masks). */
  dataParallelLosses: { atol: 1e-5, rtol: 1e-4, why: 'each rank averages its share and the shares are weighted (by 1/2, exact) and summed: the f32 sums over samples run in another order than one batch, and the differences compound over a few updates' },
  shardJpegMeanAbs: { atol: 4.5, rtol: 0, why: 'JPEG q90 (4:2:0) re-encoding of 73px photo squares vs the raw pixels, mean |diff| in 0..255 units; measured 3.1 (small squares hold more detail per pixel than 256px ones)' },
} satisfies Record<string, Tol>;

/** Throws with the worst element when a and b differ beyond tol. */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: Tol, what = 'tensor'): void {
  if (a.length !== b.length) throw new Error(`${what}: length ${a.length} != ${b.length}`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    const lim = tol.atol + tol.rtol * Math.abs(b[i]);
    if (!(d <= lim)) {
      const excess = Number.isNaN(d) ? Infinity : d - lim;
      if (excess > worstExcess || worst < 0) { worst = i; worstExcess = excess; }
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}: element ${worst} got ${a[worst]} expected ${b[worst]} (|diff| ${Math.abs(a[worst] - b[worst]).toExponential(3)} > atol ${tol.atol} + rtol ${tol.rtol}·|ref|; ${tol.why})`);
  }
}
