// `alexnet summary` end to end through bin/alexnet.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/alexnet.mjs'), 'summary', ...args], { encoding: 'utf8', cwd: root });

test('summary --json (paper) is one line with the documented fields and totals', () => {
  const r = cli('--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(j), ['variant', 'layers', 'totalParams', 'totalMacs']);
  assert.equal(j.variant, 'paper');
  assert.equal(j.totalParams, 60965224);
  assert.equal(j.totalMacs, 724406816);
  assert.deepEqual(Object.keys(j.layers[0]), ['name', 'outputShape', 'params', 'macs']);
  assert.deepEqual(j.layers[0], { name: 'conv1', outputShape: [96, 55, 55], params: 34944, macs: 105415200 });
  assert.equal(j.layers.reduce((s: number, l: { params: number }) => s + l.params, 0), j.totalParams);
});

test('summary table (torchvision) shows shapes, separators and totals', () => {
  const r = cli('--variant', 'torchvision');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /conv1\s+conv\s+55×55×64\s+23,296\s+70\.3M/);
  assert.match(r.stdout, /avgpool\s+avgpool\s+6×6×256/);
  assert.match(r.stdout, /total\s+61,100,840\s+714\.2M/);
});

test('summary --classes and --image-size', () => {
  const j = JSON.parse(cli('--variant', 'torchvision', '--classes', '10', '--image-size', '99', '--json').stdout);
  assert.deepEqual(j.layers.at(-1).outputShape, [10]);
  assert.deepEqual(j.layers[0].outputShape, [64, 24, 24]);
});

test('summary: invalid flags give errors naming the flag', () => {
  const bad = [
    [['--variant', 'vgg'], /alexnet: option '--variant <name>' argument 'vgg' is invalid\. Allowed choices are paper, torchvision\./],
    [['--classes', 'ten'], /--classes must be a positive integer, got 'ten'/],
    [['--image-size', '0'], /--image-size must be a positive integer/],
    [['--image-size', '50'], /--image-size 50 is too small for the paper variant \(minimum 67\)/],
  ] as const;
  for (const [args, re] of bad) {
    const r = cli(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, re);
  }
});
