#!/usr/bin/env python3
"""PyTorch's own ONNX export of torchvision's AlexNet, for `alexnet bench --peers`: onnxruntime runs it next to
our export (src/io/onnx.ts), so a weakness in our exported graph cannot flatter us. Random weights (seed 1):
speed does not depend on them. A dynamic batch axis, opset 13. Written atomically (a temp file, then rename).
Usage: /usr/bin/python3 bench/export_torch_onnx.py OUT.onnx
Prints one JSON line: {"file", "torch", "torchvision", "bytes"}.
"""
import json
import os
import sys

import torch
import torchvision


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: export_torch_onnx.py OUT.onnx')
    out = sys.argv[1]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    torch.manual_seed(1)
    model = torchvision.models.alexnet(weights=None).eval()
    tmp = f'{out}.tmp-{os.getpid()}'
    try:
        torch.onnx.export(model, torch.rand(1, 3, 224, 224), tmp, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(json.dumps({'file': out, 'torch': torch.__version__, 'torchvision': torchvision.__version__, 'bytes': os.path.getsize(out)}))


if __name__ == '__main__':
    main()
