// The shared fixture format (test/helpers/fixture.ts <-> tools/fixture_io.py) round-trips exactly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { havePythonTorch, parseFixture, pythonPath, readFixture, serializeFixture, writeFixture } from '../../helpers/fixture.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const sample = {
  generatedBy: 'test/backend/ref/fixture-format.test.ts: round trip',
  meta: { seed: 3, note: 'x' },
  scalars: { loss: 1.25, lr: 0.01 },
  tensors: {
    x: { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-8, -0, 7]) },
    labels: { shape: [3], data: Int32Array.from([0, -5, 2147483647]) },
    odd: { shape: [1, 1, 3], data: Float32Array.from([0.1, 0.2, 0.3]) }, // 12 bytes: next offset needs padding
    after: { shape: [1], data: Float32Array.from([42]) },
  },
};

test('TS serialize -> parse round trip keeps names, shapes, dtypes, data, scalars, meta', () => {
  const buf = serializeFixture(sample);
  assert.equal((16 + Number(new DataView(buf.buffer).getBigUint64(8, true))) % 8, 0, 'data section is 8-aligned');
  const fx = parseFixture(buf);
  assert.equal(fx.generatedBy, sample.generatedBy);
  assert.deepEqual(fx.meta, sample.meta);
  assert.equal(fx.scalar('loss'), 1.25);
  assert.deepEqual([...fx.tensors.keys()], ['x', 'labels', 'odd', 'after']);
  assert.deepEqual(fx.shape('odd'), [1, 1, 3]);
  assert.deepEqual(fx.f32('x'), sample.tensors.x.data);
  assert.deepEqual(fx.i32('labels'), sample.tensors.labels.data);
  assert.deepEqual(fx.f32('after'), Float32Array.from([42]));
  assert.throws(() => fx.get('nope'), /no tensor 'nope'/);
  assert.throws(() => fx.f32('labels'), /is i32, not f32/);
  assert.throws(() => fx.scalar('nope'), /no scalar 'nope'/);
});

test('corrupt fixtures are rejected with the reason', () => {
  const buf = serializeFixture(sample);
  const bad = buf.slice(); bad[0] = 0x58;
  assert.throws(() => parseFixture(bad, 'f.bin'), /f\.bin: not an alexnet-ts fixture/);
  assert.throws(() => parseFixture(buf.slice(0, buf.length - 8), 'g.bin'), /g\.bin: tensor 'after' has bad size\/offset/);
});

test('python tools/fixture_io.py reads what TS writes and writes what TS reads', (t) => {
  if (!havePythonTorch()) { t.skip('SKIP: python3-torch missing'); return; }
  const dir = mkdtempSync(path.join(tmpdir(), 'alxfix-'));
  try {
    const a = path.join(dir, 'a.bin'), b = path.join(dir, 'b.bin');
    writeFixture(a, sample);
    // python: read a, write b with every tensor doubled and a new scalar
    const py = `
import sys; sys.path.insert(0, ${JSON.stringify(path.join(root, 'tools'))})
from fixture_io import read_fixture, write_fixture
fx = read_fixture(${JSON.stringify(a)})
assert fx["generated_by"].startswith("test/"), fx["generated_by"]
t = {k: v * 2 for k, v in fx["tensors"].items()}
write_fixture(${JSON.stringify(b)}, t, scalars={"n": len(t), "loss": fx["scalars"]["loss"]}, meta=fx["meta"], generated_by="python roundtrip")
`;
    const r = spawnSync(pythonPath(), ['-c', py], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const fx = readFixture(b);
    assert.equal(fx.generatedBy, 'python roundtrip');
    assert.equal(fx.scalar('n'), 4);
    assert.equal(fx.scalar('loss'), 1.25);
    assert.deepEqual(fx.meta, sample.meta);
    assert.deepEqual(fx.f32('x'), sample.tensors.x.data.map((v) => v * 2));
    assert.deepEqual(fx.i32('labels'), Int32Array.from([0, -10, -2])); // int32 wraps in numpy
    assert.deepEqual(fx.shape('odd'), [1, 1, 3]);
    assert.ok(readFileSync(b).length % 8 === 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
