// spec.ts as the one description of AlexNet: architecture inference from a state dict's shapes and
// the one state-dict check derived from the spec.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateDictError, checkStateDict, inferArch, normaliseArch, paramShapes, PARAM_NAMES, type ArchConfig } from '../../src/model/spec.ts';
import type { StateDict } from '../../src/model/types.ts';

/** Zero-filled state dict with the spec's shapes. */
function zeros(a: ArchConfig): StateDict {
  return Object.fromEntries(paramShapes(a).map((p) => [p.name, { shape: p.shape, data: new Float32Array(p.shape.reduce((x, y) => x * y, 1)) }]));
}

test('parameter names and counts come from the spec (60,965,224 paper, 61,100,840 torchvision)', () => {
  const count = (a: ArchConfig) => paramShapes(a).reduce((s, p) => s + p.shape.reduce((x, y) => x * y, 1), 0);
  assert.equal(count(normaliseArch({ variant: 'paper' })), 60_965_224);
  assert.equal(count(normaliseArch({ variant: 'torchvision' })), 61_100_840);
  assert.equal(PARAM_NAMES.length, 16);
  assert.equal(PARAM_NAMES[0], 'features.0.weight');
  assert.equal(PARAM_NAMES.at(-1), 'classifier.6.bias');
  assert.deepEqual(paramShapes(normaliseArch({ variant: 'paper' }))[2], { name: 'features.3.weight', shape: [256, 48, 5, 5] });
});

test('inferArch recovers variant, widths, hidden and classes from shapes alone', () => {
  for (const cfg of [
    { variant: 'paper' as const, classes: 10, widthScale: 0.125, hidden: 32 },
    { variant: 'torchvision' as const, classes: 7, widthScale: 0.25, hidden: 64 },
    { variant: 'torchvision' as const, classes: 1000, widthScale: 1, hidden: 4096 },
  ]) {
    const a = normaliseArch(cfg);
    const sd = Object.fromEntries(paramShapes(a).map((p) => [p.name, { shape: p.shape, data: { length: p.shape.reduce((x, y) => x * y, 1) } }]));
    assert.deepEqual(inferArch(sd), a);
    checkStateDict(sd, inferArch(sd));
  }
});

test('checkStateDict names the offending entry', () => {
  const a = normaliseArch({ variant: 'paper', classes: 5, widthScale: 0.125, hidden: 16 });
  const sd = zeros(a);
  const err = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof StateDictError && re.test((e as Error).message));
  err(() => checkStateDict({ ...sd, 'features.3.weight': { shape: [24, 6, 5, 5], data: new Float32Array(3600) } }, a, 'f.safetensors'),
    /^f\.safetensors: features\.3\.weight: expected shape \[32, 6, 5, 5\], got \[24, 6, 5, 5\].*has shape \[24,6,5,5\] but a paper AlexNet needs \[32,6,5,5\] here/);
  const { 'classifier.6.bias': _b, ...noBias } = sd;
  err(() => checkStateDict(noBias, a), /missing keys: classifier\.6\.bias/);
  err(() => checkStateDict({ ...sd, 'features.1.weight': sd['features.0.bias'] }, a), /unknown keys: features\.1\.weight/);
  err(() => checkStateDict({ ...sd, 'features.0.bias': { shape: [12], data: new Float32Array(3) } }, a), /features\.0\.bias: shape \[12\] needs 12 values, got 3/);
  err(() => inferArch(noBias, 'x.pth'), /^x\.pth: not an AlexNet state_dict: missing classifier\.6\.bias/);
  // widths that are not one uniform scale of AlexNet's: inference reads conv1, the check finds conv3
  err(() => checkStateDict({ ...sd, 'features.6.weight': { shape: [40, 32, 3, 3], data: new Float32Array(11520) } }, inferArch(sd)), /features\.6\.weight: expected shape/);
});
