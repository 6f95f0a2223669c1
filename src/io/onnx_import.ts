// ONNX ModelProto -> StateDict for an AlexNet-shaped graph (ours, or the model zoo's bvlcalexnet whose
// initializers are conv1_w_0 etc.): parameters are mapped by graph position (5 Convs, 3 Gemms), not
// by name. Graph details our model cannot represent (Caffe's LRN k=1, ceil-mode pool pads) are kept
// out of the weights and reported as warnings.
import type { StateDict, WeightsMeta } from '../model/types.ts';
import { PAPER_LRN, checkShapes } from '../model/spec.ts';
import { halfToFloat } from './half.ts';
import { WeightsFormatError, completeMeta, fmtShape, formatError, metaFromStrings, safeName, type MetaOverrides } from './meta.ts';
import { decodeMessage, fieldBudget, repeatedInts, str, type PbField } from './protobuf.ts';

interface Node { op: string; name: string; inputs: string[]; outputs: string[]; attrs: Map<string, PbField[]> }
const CONV_NAMES = ['features.0', 'features.3', 'features.6', 'features.8', 'features.10'];
const FC_NAMES = ['classifier.1', 'classifier.4', 'classifier.6'];
const PASS_OPS = new Set(['Relu', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Dropout', 'Softmax', 'Reshape', 'Flatten', 'Identity', 'Constant', 'Shape', 'Gather', 'Unsqueeze', 'Concat', 'LogSoftmax']);

/** sd, metadata (from metadata_props when ours, else inferred from the shapes plus `over`) and caveats. */
export function importOnnx(bytes: Uint8Array, what = 'onnx', over: MetaOverrides = {}): { sd: StateDict; meta: WeightsMeta; warnings: string[] } {
  const budget = fieldBudget(); // one allowance of decoded fields for the whole file
  const model = decodeMessage(bytes, what, budget);
  const graphField = model.find((f) => f.no === 7 && f.wt === 2);
  if (!graphField) throw new WeightsFormatError(`${what}: not an ONNX model (no graph)`);
  const props: Record<string, string> = Object.create(null);
  for (const f of model.filter((x) => x.no === 14 && x.wt === 2)) {
    const kv = decodeMessage(f.bytes!, what, budget);
    props[str(kv.find((x) => x.no === 1)?.bytes)] = str(kv.find((x) => x.no === 2)?.bytes);
  }
  const graph = decodeMessage(graphField.bytes!, what, budget);
  const inits = new Map<string, PbField[]>();
  for (const f of graph.filter((x) => x.no === 5 && x.wt === 2)) {
    const t = decodeMessage(f.bytes!, what, budget);
    inits.set(str(t.find((x) => x.no === 8)?.bytes), t);
  }
  const nodes: Node[] = graph.filter((x) => x.no === 1 && x.wt === 2).map((f) => {
    const n = decodeMessage(f.bytes!, what, budget);
    const attrs = new Map<string, PbField[]>();
    for (const a of n.filter((x) => x.no === 5 && x.wt === 2)) {
      const af = decodeMessage(a.bytes!, what, budget);
      attrs.set(str(af.find((x) => x.no === 1)?.bytes), af);
    }
    return {
      op: str(n.find((x) => x.no === 4)?.bytes), name: str(n.find((x) => x.no === 3)?.bytes),
      inputs: n.filter((x) => x.no === 1).map((x) => str(x.bytes)), outputs: n.filter((x) => x.no === 2).map((x) => str(x.bytes)), attrs,
    };
  });
  // Constant nodes can carry weights too (some exporters): treat their value tensors as initializers.
  for (const n of nodes) {
    const v = n.op === 'Constant' ? n.attrs.get('value')?.find((x) => x.no === 5 && x.wt === 2) : undefined;
    if (v) inits.set(n.outputs[0], decodeMessage(v.bytes!, what, budget));
  }

  const warnings: string[] = [];
  const sd: StateDict = {};
  const convs: Node[] = [], fcs: { w: string; b?: string; transB: boolean; alpha: number; beta: number; node: Node }[] = [];
  const lrns: Node[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (n.op === 'Conv') convs.push(n);
    else if (n.op === 'Gemm') fcs.push({ w: n.inputs[1], b: n.inputs[2], transB: attrInt(n, 'transB', 0) === 1, alpha: attrFloat(n, 'alpha', 1), beta: attrFloat(n, 'beta', 1), node: n });
    else if (n.op === 'MatMul') {
      const add = nodes[i + 1]?.op === 'Add' && nodes[i + 1].inputs.includes(n.outputs[0]) ? nodes[i + 1] : undefined;
      fcs.push({ w: n.inputs[1], b: add?.inputs.find((x) => x !== n.outputs[0]), transB: false, alpha: 1, beta: 1, node: n });
      if (add) i++;
    } else if (n.op === 'LRN') lrns.push(n);
    else if (n.op === 'MaxPool') {
      const pads = attrInts(n, 'pads', what);
      if (attrInt(n, 'ceil_mode', 0) || pads.some((p) => p !== 0)) warnings.push(`${safeName(n.name || n.op)}: pooling pads [${pads}] / ceil_mode ${attrInt(n, 'ceil_mode', 0)} (Caffe-style ceil pooling); our model pools in floor mode without padding, so feature maps at the edges differ`);
    } else if (!PASS_OPS.has(n.op)) {
      throw new WeightsFormatError(`${what}: node ${safeName(n.name || '?')} has op ${safeName(n.op)}, which an AlexNet-shaped graph does not use`);
    }
  }
  if (convs.length !== 5 || fcs.length !== 3) throw new WeightsFormatError(`${what}: expected an AlexNet graph with 5 Conv and 3 Gemm/MatMul nodes, found ${convs.length} and ${fcs.length}`);

  // Names and shapes first (dims only, nothing materialised), checked against the architecture.
  const dimsOf = (name: string, role: string) => {
    const t = inits.get(name);
    if (!t) throw new WeightsFormatError(`${what}: ${role} ${safeName(name)} is not an initializer (weights computed at run time are not supported)`);
    return repeatedInts(t, 1, what, 8);
  };
  const numel = (d: number[]) => d.reduce((a, x) => a * x, 1);
  const shapes: Record<string, number[]> = {};
  convs.forEach((n, i) => {
    const w = dimsOf(n.inputs[1], `${safeName(n.op)} ${safeName(n.name)} weight`);
    if (w.length !== 4) throw new WeightsFormatError(`${what}: ${CONV_NAMES[i]} (node ${safeName(n.name)}) weight has shape ${fmtShape(w)}, expected 4-d`);
    shapes[`${CONV_NAMES[i]}.weight`] = w;
    shapes[`${CONV_NAMES[i]}.bias`] = n.inputs[2] ? [numel(dimsOf(n.inputs[2], `${safeName(n.name)} bias`))] : [w[0]];
    const group = attrInt(n, 'group', 1);
    if (group !== 1 && group !== 2) throw new WeightsFormatError(`${what}: ${safeName(n.name)} has group=${group}; AlexNet uses 1 or 2`);
  });
  fcs.forEach((f, i) => {
    const w = dimsOf(f.w, `${f.node.op} ${safeName(f.node.name)} weight`);
    if (w.length !== 2) throw new WeightsFormatError(`${what}: ${FC_NAMES[i]} (node ${safeName(f.node.name)}) weight has shape ${fmtShape(w)}, expected 2-d`);
    const W = f.transB ? w : [w[1], w[0]];
    shapes[`${FC_NAMES[i]}.weight`] = W;
    shapes[`${FC_NAMES[i]}.bias`] = f.b ? [numel(dimsOf(f.b, `${safeName(f.node.name)} bias`))] : [W[0]];
  });
  const facts = checkShapes(shapes, what, undefined, formatError);

  convs.forEach((n, i) => {
    const w = tensorOf(inits, n.inputs[1], what, `${safeName(n.op)} ${safeName(n.name)} weight`);
    sd[`${CONV_NAMES[i]}.weight`] = w;
    const b = n.inputs[2] ? tensorOf(inits, n.inputs[2], what, `${safeName(n.name)} bias`).data : new Float32Array(w.shape[0]);
    sd[`${CONV_NAMES[i]}.bias`] = { shape: [b.length], data: b };
  });
  const c1 = convs[0];
  const pads1 = attrInts(c1, 'pads', what), strides1 = attrInts(c1, 'strides', what);
  if (strides1.length && strides1[0] !== 4) warnings.push(`conv1 stride ${strides1[0]} (AlexNet uses 4)`);
  const grouped = attrInt(convs[1], 'group', 1) === 2;
  const variantPad = grouped ? 0 : 2;
  if ((pads1[0] ?? 0) !== variantPad) warnings.push(`conv1 pads [${pads1}] differ from the ${grouped ? 'paper' : 'torchvision'} variant's ${variantPad}`);
  for (const l of lrns) {
    const size = attrInt(l, 'size', 0), alpha = attrFloat(l, 'alpha', 1e-4), beta = attrFloat(l, 'beta', 0.75), k = attrFloat(l, 'bias', 1);
    const want = { size: PAPER_LRN.size, alpha: PAPER_LRN.alpha * PAPER_LRN.size, beta: PAPER_LRN.beta, k: PAPER_LRN.k };
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
    if (size !== want.size || !close(alpha, want.alpha) || !close(beta, want.beta) || !close(k, want.k)) {
      warnings.push(`${safeName(l.name || 'LRN')}: size ${size}, alpha ${Number(alpha.toPrecision(6))} (ONNX, divided by size), beta ${beta}, bias ${k} differ from the paper's LRN (size 5, alpha 1e-4 undivided = ${want.alpha} in ONNX terms, beta 0.75, k 2); the paper variant always uses the paper's LRN`);
    }
  }
  if (!grouped && lrns.length) warnings.push('graph has LRN but conv2 is not grouped; imported as torchvision, which has no LRN');

  fcs.forEach((f, i) => {
    const name = FC_NAMES[i];
    const w = tensorOf(inits, f.w, what, `${f.node.op} ${safeName(f.node.name)} weight`);
    let W = f.transB ? w : transpose(w);
    if (f.alpha !== 1) W = { shape: W.shape, data: W.data.map((x) => x * f.alpha) };
    sd[`${name}.weight`] = W;
    const out = W.shape[0];
    let b = f.b ? tensorOf(inits, f.b, what, `${safeName(f.node.name)} bias`).data : new Float32Array(out);
    if (f.beta !== 1) b = b.map((x) => x * f.beta);
    sd[`${name}.bias`] = { shape: [out], data: b };
  });
  return { sd, meta: completeMeta(sd, metaFromStrings(props, what), over, what, facts), warnings };
}

function transpose(t: { shape: number[]; data: Float32Array }) {
  const [r, c] = t.shape, out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

function attrInt(n: Node, name: string, dflt: number): number { return n.attrs.get(name)?.find((x) => x.no === 3)?.int ?? dflt; }
function attrFloat(n: Node, name: string, dflt: number): number { return n.attrs.get(name)?.find((x) => x.no === 2)?.f32 ?? dflt; }
function attrInts(n: Node, name: string, what: string): number[] { const a = n.attrs.get(name); return a ? repeatedInts(a, 8, what) : []; }

/** TensorProto (dims 1, data_type 2, float_data 4, raw_data 9, double_data 10, data_location 14) -> f32. */
function tensorOf(inits: Map<string, PbField[]>, name: string, what: string, role: string) {
  const t = inits.get(name);
  if (!t) throw new WeightsFormatError(`${what}: ${role} ${safeName(name)} is not an initializer (weights computed at run time are not supported)`);
  const shape = repeatedInts(t, 1, what, 8);
  const n = shape.reduce((a, d) => a * d, 1);
  const dtype = t.find((x) => x.no === 2)?.int ?? 0;
  if (t.some((x) => x.no === 14 && x.int === 1)) throw new WeightsFormatError(`${what}: initializer ${safeName(name)} uses external data files, which are not supported`);
  const raw = t.find((x) => x.no === 9)?.bytes;
  const size = dtype === 1 ? 4 : dtype === 11 ? 8 : dtype === 10 ? 2 : 0;
  if (!size) throw new WeightsFormatError(`${what}: initializer ${safeName(name)} has data_type ${dtype}; weights must be FLOAT (1), DOUBLE (11) or FLOAT16 (10)`);
  if (shape.some((d) => !(d >= 0)) || n * size > bytesLen(t)) throw new WeightsFormatError(`${what}: initializer ${safeName(name)} shape ${fmtShape(shape)} needs ${n * size} bytes but the tensor carries ${bytesLen(t)}`);
  const out = new Float32Array(n);
  if (raw) {
    if (raw.length !== n * size) throw new WeightsFormatError(`${what}: initializer ${safeName(name)} raw_data has ${raw.length} bytes, shape ${fmtShape(shape)} needs ${n * size}`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) out[i] = size === 4 ? dv.getFloat32(4 * i, true) : size === 8 ? dv.getFloat64(8 * i, true) : halfToFloat(dv.getUint16(2 * i, true));
  } else if (dtype === 1) {
    // straight into the output (bytesLen bounded the count above); a stray value count is an error
    let k = 0;
    const more = () => { throw new WeightsFormatError(`${what}: initializer ${safeName(name)} has more float_data values than shape ${fmtShape(shape)} needs (${n})`); };
    for (const f of t) {
      if (f.no !== 4) continue;
      if (f.wt === 5) { if (k >= n) more(); out[k++] = f.f32!; }
      else if (f.wt === 2) {
        const dv = new DataView(f.bytes!.buffer, f.bytes!.byteOffset, f.bytes!.byteLength);
        for (let i = 0; i + 4 <= f.bytes!.length; i += 4) { if (k >= n) more(); out[k++] = dv.getFloat32(i, true); }
      }
    }
    if (k !== n) throw new WeightsFormatError(`${what}: initializer ${safeName(name)} has ${k} float_data values, shape ${fmtShape(shape)} needs ${n}`);
  } else throw new WeightsFormatError(`${what}: initializer ${safeName(name)} (data_type ${dtype}) has no raw_data`);
  return { shape, data: out };
}

/** Bytes of tensor data present (raw_data, or float_data: 4 per value), checked before allocating. */
function bytesLen(t: PbField[]): number {
  let n = 0;
  for (const f of t) if (f.no === 9 && f.bytes) n += f.bytes.length; else if (f.no === 4) n += f.wt === 5 ? 4 : f.bytes?.length ?? 0;
  return n;
}
