// StateDict -> ONNX ModelProto (opset 13), walking the model's own layer specs so the graph and our
// forward cannot disagree. Field numbers are onnx.proto's (see the comments by each message).
//   LRN: ONNX divides alpha by size (like PyTorch/Caffe); the paper does not, so alpha_onnx = alpha*size.
//   Adaptive 6x6 average pool: identity when the map is already 6x6 (torchvision at 224, paper at 227);
//     AveragePool(k = s = side/6) when the side is a multiple of 6; other sizes are refused (no exact
//     single-op equivalent) - export at the weights' crop size instead.
//   Dropout: omitted (inference graph). Flatten(axis 1). Linear: Gemm(transB = 1).
//   Outputs: "logits" (N, classes) and "probabilities" = Softmax(logits, axis 1).
import type { StateDict, WeightsMeta } from '../model/types.ts';
import { checkStateDict, layerSpecs, normaliseArch, featureSide, POOL_OUT } from '../model/spec.ts';
import { PbWriter } from './protobuf.ts';
import { WeightsFormatError, formatError, metaToStrings } from './meta.ts';

export const ONNX_OPSET = 13;
const FLOAT = 1;
// AttributeProto.type
const A_FLOAT = 1, A_INT = 2, A_INTS = 7;

type Attr = { name: string; f?: number; i?: number; ints?: number[] };

// AttributeProto: name 1, f 2, i 3, ints 8, type 20
function attr(a: Attr): PbWriter {
  const w = new PbWriter().string(1, a.name);
  if (a.f !== undefined) w.float(2, a.f).int(20, A_FLOAT);
  else if (a.i !== undefined) w.int(3, a.i).int(20, A_INT);
  else w.packedInts(8, a.ints!).int(20, A_INTS);
  return w;
}
// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5
function node(op: string, name: string, inputs: string[], outputs: string[], attrs: Attr[] = []): PbWriter {
  const w = new PbWriter();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, name).string(4, op);
  for (const a of attrs) w.message(5, attr(a));
  return w;
}
// TensorProto: dims 1, data_type 2, name 8, raw_data 9
function tensor(name: string, shape: number[], data: Float32Array): PbWriter {
  const w = new PbWriter().packedInts(1, shape).int(2, FLOAT).string(8, name);
  return w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
// ValueInfoProto: name 1, type 2 -> TypeProto.tensor_type 1 -> elem_type 1, shape 2 -> dim 1 (dim_value 1 | dim_param 2)
function valueInfo(name: string, dims: (number | string)[]): PbWriter {
  const shape = new PbWriter();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new PbWriter().int(1, d) : new PbWriter().string(2, d));
  const tt = new PbWriter().int(1, FLOAT).message(2, shape);
  return new PbWriter().string(1, name).message(2, new PbWriter().message(1, tt));
}

// ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8 (metadata_props 14: the caller's)
function modelProto(g: PbWriter): PbWriter {
  return new PbWriter().int(1, 8).string(2, 'alexnet-ts').string(3, '0.1.0').message(7, g).message(8, new PbWriter().string(1, '').int(2, ONNX_OPSET));
}

/** ONNX bytes for these weights at input side `size` (default: the metadata's crop). */
export function exportOnnx(sd: StateDict, meta: WeightsMeta, opts: { size?: number; softmax?: boolean } = {}): Uint8Array {
  const arch = normaliseArch({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden });
  checkStateDict(sd, arch, 'exportOnnx', formatError);
  const size = opts.size ?? meta.preprocessing.crop;
  const specs = layerSpecs(arch, size, size);
  const g = new PbWriter(); // GraphProto: node 1, name 2, initializer 5, input 11, output 12
  const inits: PbWriter[] = [];
  let cur = 'input';
  const emit = (op: string, name: string, extra: string[], attrs: Attr[] = []) => {
    const out = name;
    g.message(1, node(op, `${name}_${op}`, [cur, ...extra], [out], attrs));
    cur = out;
  };
  const param = (p: string) => {
    const w = sd[`${p}.weight`], b = sd[`${p}.bias`];
    inits.push(tensor(`${p}.weight`, w.shape, w.data), tensor(`${p}.bias`, b.shape, b.data));
    return [`${p}.weight`, `${p}.bias`];
  };
  for (const l of specs) {
    switch (l.kind) {
      case 'conv': {
        const wshape = sd[`${l.param}.weight`].shape;
        if (wshape[0] !== l.outC || wshape[1] !== l.inC / l.groups) throw new WeightsFormatError(`exportOnnx: ${l.param}.weight is [${wshape}] but the metadata (widthScale ${meta.widthScale ?? 1}) implies [${l.outC}, ${l.inC / l.groups}, ...]`);
        emit('Conv', l.name, param(l.param), [
          { name: 'kernel_shape', ints: [l.kernel, l.kernel] }, { name: 'strides', ints: [l.stride, l.stride] },
          { name: 'pads', ints: [l.pad, l.pad, l.pad, l.pad] }, { name: 'group', i: l.groups }, { name: 'dilations', ints: [1, 1] },
        ]);
        break;
      }
      case 'relu': emit('Relu', l.name, []); break;
      case 'lrn': {
        const a = l.attrs;
        const alpha = a.convention === 'paper' ? a.alpha * a.size : a.alpha;
        emit('LRN', l.name, [], [{ name: 'size', i: a.size }, { name: 'alpha', f: alpha }, { name: 'beta', f: a.beta }, { name: 'bias', f: a.k }]);
        break;
      }
      case 'maxpool':
        emit('MaxPool', l.name, [], [{ name: 'kernel_shape', ints: [l.kernel, l.kernel] }, { name: 'strides', ints: [l.stride, l.stride] }, { name: 'pads', ints: [l.pad, l.pad, l.pad, l.pad] }]);
        break;
      case 'avgpool': {
        const side = featureSide(arch, size);
        if (side === POOL_OUT) break; // adaptive pool to its own size is the identity
        if (side % POOL_OUT) throw new WeightsFormatError(`exportOnnx: the ${side}x${side} feature map at input ${size} cannot be adaptive-pooled to ${POOL_OUT}x${POOL_OUT} by one ONNX op; export at an input size whose pool5 side is a multiple of 6 (e.g. ${arch.variant === 'paper' ? 227 : 224})`);
        const kk = side / POOL_OUT;
        emit('AveragePool', l.name, [], [{ name: 'kernel_shape', ints: [kk, kk] }, { name: 'strides', ints: [kk, kk] }]);
        break;
      }
      case 'flatten': emit('Flatten', l.name, [], [{ name: 'axis', i: 1 }]); break;
      case 'dropout': break; // inference graph
      case 'linear': emit('Gemm', l.name, param(l.param), [{ name: 'transB', i: 1 }]); break;
    }
  }
  g.message(1, node('Identity', 'logits_Identity', [cur], ['logits']));
  if (opts.softmax !== false) g.message(1, node('Softmax', 'probabilities_Softmax', ['logits'], ['probabilities'], [{ name: 'axis', i: 1 }]));
  g.string(2, `alexnet_${meta.variant}`);
  for (const t of inits) g.message(5, t);
  g.message(11, valueInfo('input', ['N', 3, size, size]));
  g.message(12, valueInfo('logits', ['N', meta.classes]));
  if (opts.softmax !== false) g.message(12, valueInfo('probabilities', ['N', meta.classes]));
  const m = modelProto(g);
  for (const [key, value] of Object.entries(metaToStrings(meta))) m.message(14, new PbWriter().string(1, key).string(2, value));
  return m.finish();
}

/** One Conv node alone (input "x" [N, C, H, W], output "y"): a kernel-level graph for comparing one
 *  convolution across engines (bench/webgpu*.ts) with the same attributes exportOnnx writes. */
export function exportConvOnnx(w: { shape: number[]; data: Float32Array }, b: { shape: number[]; data: Float32Array },
  a: { stride: number; pad: number; groups: number }, input: [number, number, number, number]): Uint8Array {
  const [K, , R, S] = w.shape;
  if (w.shape.length !== 4 || b.shape.length !== 1 || b.shape[0] !== K) throw new WeightsFormatError(`exportConvOnnx: weight [${w.shape}] and bias [${b.shape}] do not make a convolution`);
  const side = (n: number, k: number) => Math.floor((n + 2 * a.pad - k) / a.stride) + 1;
  const g = new PbWriter();
  g.message(1, node('Conv', 'conv', ['x', 'w', 'b'], ['y'], [
    { name: 'kernel_shape', ints: [R, S] }, { name: 'strides', ints: [a.stride, a.stride] },
    { name: 'pads', ints: [a.pad, a.pad, a.pad, a.pad] }, { name: 'group', i: a.groups }, { name: 'dilations', ints: [1, 1] },
  ]));
  g.string(2, 'conv');
  g.message(5, tensor('w', w.shape, w.data)).message(5, tensor('b', b.shape, b.data));
  g.message(11, valueInfo('x', input));
  g.message(12, valueInfo('y', [input[0], K, side(input[2], R), side(input[3], S)]));
  return modelProto(g).finish();
}

/** Fully connected layers alone (Gemm, transB = 1; input "x" [1, first layer's I]): with chain, one after another
 *  with a Relu between them (the classifier's fc6 -> fc7 -> fc8), output the last; else each applied to x, one
 *  output per layer. A kernel-level graph for comparing the batch-1 fc layers across engines (bench/fc1-peer.ts). */
export function exportGemmOnnx(layers: readonly { name: string; O: number; I: number; w: Float32Array; b: Float32Array }[], chain: boolean): Uint8Array {
  const g = new PbWriter();
  let cur = 'x';
  layers.forEach((p, k) => {
    const input = chain ? cur : 'x';
    g.message(1, node('Gemm', `${p.name}_Gemm`, [input, `${p.name}.w`, `${p.name}.b`], [p.name], [{ name: 'transB', i: 1 }]));
    cur = p.name;
    if (chain && k < layers.length - 1) {
      g.message(1, node('Relu', `relu_${p.name}_Relu`, [cur], [`relu_${p.name}`]));
      cur = `relu_${p.name}`;
    }
  });
  g.string(2, 'classifier');
  for (const p of layers) g.message(5, tensor(`${p.name}.w`, [p.O, p.I], p.w)).message(5, tensor(`${p.name}.b`, [p.O], p.b));
  g.message(11, valueInfo('x', [1, layers[0].I]));
  if (chain) g.message(12, valueInfo(cur, [1, layers[layers.length - 1].O]));
  else for (const p of layers) g.message(12, valueInfo(p.name, [1, p.O]));
  return modelProto(g).finish();
}
