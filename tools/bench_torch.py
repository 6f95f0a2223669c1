#!/usr/bin/env python3
"""PyTorch peer for `alexnet bench --peers` (src/cli/bench.ts): the same model, thread count, input sizes
and measured steps and forward calls as bench/measure.ts, in its own process so peak RSS is PyTorch's alone.
Prints one JSON line: {"forward":{"batch1","batch64"},"train":{"batch128"},"peakRssMiB","torch"}.
Usage: /usr/bin/python3 tools/bench_torch.py --variant torchvision --threads 2 --steps 3 [--calls64 12 --calls1 180] [--only train,forward64,forward1]
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn


def paper_alexnet(classes=1000):
    # The paper's two-tower net as one graph (groups=2), LRN (PyTorch divides alpha by size, so pass alpha*size
    # for the paper's convention), 227x227 input.
    lrn = lambda: nn.LocalResponseNorm(5, alpha=1e-4 * 5, beta=0.75, k=2.0)
    features = nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(inplace=True), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
    classifier = nn.Sequential(
        nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, classes))

    class Paper(nn.Module):
        def __init__(self):
            super().__init__()
            self.features, self.avgpool, self.classifier = features, nn.AdaptiveAvgPool2d((6, 6)), classifier

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
    return Paper()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default='torchvision', choices=['torchvision', 'paper'])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--steps', type=int, default=3)
    # forward calls: `alexnet bench` passes src/cli/bench-calls.ts's counts; these defaults are its rule for 3 steps
    ap.add_argument('--calls64', type=int, default=12)
    ap.add_argument('--calls1', type=int, default=180)
    ap.add_argument('--only', default='train,forward64,forward1')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.variant == 'torchvision':
        import torchvision
        model, size = torchvision.models.alexnet(weights=None), 224
    else:
        model, size = paper_alexnet(), 227
    only = a.only.split(',')
    out = {'forward': {'batch1': 0.0, 'batch64': 0.0}, 'train': {'batch128': 0.0}, 'torch': torch.__version__}

    def timeit(iters, warm, fn):
        for _ in range(warm):
            fn()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        return (time.perf_counter() - t0) / iters

    if 'train' in only:
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
        x = torch.rand(128, 3, size, size) - 0.5
        y = torch.arange(128) * 7 % 1000
        lossf = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=False)
            loss = lossf(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()
        out['train']['batch128'] = 128 / timeit(a.steps, 1, step)
    model.eval()
    with torch.inference_mode():
        if 'forward64' in only:
            x = torch.rand(64, 3, size, size) - 0.5
            out['forward']['batch64'] = 64 / timeit(a.calls64, 1, lambda: model(x))
        if 'forward1' in only:
            x = torch.rand(1, 3, size, size) - 0.5
            out['forward']['batch1'] = 1 / timeit(a.calls1, 3, lambda: model(x))
    out['peakRssMiB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == '__main__':
    main()
