#!/usr/bin/python3
# onnxruntime's own int8 model of the same network with the SAME scales as our int8 file, for bench/int8.ts.
# (onnxruntime.quantization.quantize_static is Python onnxruntime, which is not installable here; python3-onnx
# is.) It rewrites our f32 ONNX export into the QDQ form quantize_static writes, which onnxruntime fuses into
# QLinearConv / QGemm / uint8 MaxPool:
#   x -> QuantizeLinear(in_scale, s8 for the image, u8 after ReLU) -> DequantizeLinear -> Conv/Gemm
#   weights: our s8 values, DequantizeLinear(per-output-channel scale, axis 0); bias: s32 at in_scale * w_scale
#   Conv/Gemm -> Relu becomes Conv/Gemm -> Q(u8, the next layer's input scale, zero point 0) -> DQ (the u8
#   saturation is the ReLU), the last Gemm (fc8) stays f32 out.
# Usage: /usr/bin/python3 bench/int8-qdq.py f32.onnx int8.safetensors out.onnx
import json
import struct
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

DTYPES = {'F32': np.float32, 'I8': np.int8}


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        b, end = e['data_offsets']
        out[name] = np.frombuffer(data[b:end], dtype=DTYPES[e['dtype']]).reshape(e['shape'])
    return out


def main(src, weights, dst):
    m = onnx.load(src)
    g = m.graph
    st = read_safetensors(weights)
    inits = {t.name: t for t in g.initializer}
    nodes = list(g.node)
    params = [n.input[1][: -len('.weight')] for n in nodes if n.op_type in ('Conv', 'Gemm')]
    consumers = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    new_inits, out_nodes, dropped = [], [], set()

    def const(name, arr):
        new_inits.append(numpy_helper.from_array(arr, name))
        return name

    def qdq(x, scale, signed, tag):
        s = const(f'{tag}_scale', np.array(scale, dtype=np.float32))
        z = const(f'{tag}_zp', np.array(0, dtype=np.int8 if signed else np.uint8))
        out_nodes.append(helper.make_node('QuantizeLinear', [x, s, z], [f'{tag}_q'], name=f'{tag}_Q'))
        out_nodes.append(helper.make_node('DequantizeLinear', [f'{tag}_q', s, z], [f'{tag}_dq'], name=f'{tag}_DQ'))
        return f'{tag}_dq'

    for n in nodes:
        if n.name in dropped:
            continue
        if n.op_type not in ('Conv', 'Gemm'):
            out_nodes.append(n)
            continue
        p = n.input[1][: -len('.weight')]
        i = params.index(p)
        s_in = float(st[f'{p}.input_scale'][0])
        w_s = st[f'{p}.weight_scale'].astype(np.float32)
        x = qdq(n.input[0], s_in, i == 0, f'{p}_in')
        wq = const(f'{p}.weight_q', st[f'{p}.weight'])
        ws = const(f'{p}.weight_scale', w_s)
        wz = const(f'{p}.weight_zp', np.zeros(w_s.shape, dtype=np.int8))
        out_nodes.append(helper.make_node('DequantizeLinear', [wq, ws, wz], [f'{p}.weight_dq'], name=f'{p}_wDQ', axis=0))
        b_s = (s_in * w_s).astype(np.float32)
        bq = const(f'{p}.bias_q', np.round(st[f'{p}.bias'] / b_s).astype(np.int32))
        bs = const(f'{p}.bias_scale', b_s)
        bz = const(f'{p}.bias_zp', np.zeros(w_s.shape, dtype=np.int32))
        out_nodes.append(helper.make_node('DequantizeLinear', [bq, bs, bz], [f'{p}.bias_dq'], name=f'{p}_bDQ', axis=0))
        nxt = consumers.get(n.output[0], [])
        relu = len(nxt) == 1 and nxt[0].op_type == 'Relu' and i + 1 < len(params)
        y = n.output[0]
        q = helper.make_node(n.op_type, [x, f'{p}.weight_dq', f'{p}.bias_dq'], [y], name=n.name)
        q.attribute.extend(n.attribute)
        out_nodes.append(q)
        if relu:
            dropped.add(nxt[0].name)
            s_out = float(st[f'{params[i + 1]}.input_scale'][0])
            s = const(f'{p}_out_scale', np.array(s_out, dtype=np.float32))
            z = const(f'{p}_out_zp', np.array(0, dtype=np.uint8))
            out_nodes.append(helper.make_node('QuantizeLinear', [y, s, z], [f'{p}_out_q'], name=f'{p}_outQ'))
            out_nodes.append(helper.make_node('DequantizeLinear', [f'{p}_out_q', s, z], [nxt[0].output[0]], name=f'{p}_outDQ'))
        for name in (f'{p}.weight', f'{p}.bias'):
            inits.pop(name, None)
    del g.node[:]
    g.node.extend(out_nodes)
    del g.initializer[:]
    g.initializer.extend(list(inits.values()) + new_inits)
    onnx.checker.check_model(m)
    onnx.save(m, dst)


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit('usage: int8-qdq.py f32.onnx int8.safetensors out.onnx')
    main(*sys.argv[1:])
