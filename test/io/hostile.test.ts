// Hostile files must cost little: each class of attack found by an adversarial pass over the readers,
// loaded in a child process with a capped heap and a deadline, must end in a one-line error naming
// the file, quickly and without growing the process's peak memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors } from '../../src/io/safetensors.ts';
import { metaToStrings, PARAM_NAMES } from '../../src/io/meta.ts';
import { PbWriter } from '../../src/io/protobuf.ts';
import { Pickle, deflatedZeros, loadBounded, stateDictPickle, zip, type Outcome, type TensorEntry } from './hostile.ts';
import { metaFor, randomStateDict } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-hostile-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const put = (name: string, b: Uint8Array) => { const f = join(dir, name); writeFileSync(f, b); return f; };
const pthOf = (pkl: Uint8Array, extra: { name: string; data: Uint8Array; deflated?: { size: number } }[] = []) => zip([{ name: 'archive/data.pkl', data: pkl }, ...extra]);

/** Every file must give a one-line WeightsFormatError naming it, within `ms` and `mb` of peak RSS growth. */
function expectRefused(cases: [string, RegExp][], limits: { ms?: number; mb?: number } = {}) {
  const r = loadBounded(cases.map(([f]) => f), { timeoutMs: 60_000 });
  const by = new Map<string, Outcome>(r.outcomes.map((o) => [o.file, o]));
  for (const [f, re] of cases) {
    const o = by.get(f);
    assert.ok(o, `${f}: no outcome (child ${r.signal ?? `exit ${r.status}`}: ${r.stderr.split('\n').filter(Boolean).slice(-3).join(' | ')})`);
    assert.equal(o.ok, false, `${f}: loaded`);
    assert.equal(o.name, 'WeightsFormatError', `${f}: ${o.name}: ${o.message}`);
    assert.ok(!o.message!.includes('\n'), `${f}: message is not one line: ${o.message!.slice(0, 300)}`);
    assert.ok(o.message!.includes(f), `${f}: message does not name the file: ${o.message}`);
    assert.match(o.message!, re, f);
    assert.ok(o.ms < (limits.ms ?? 5000), `${f}: took ${o.ms} ms`);
    assert.ok(o.rssGrowthMB < (limits.mb ?? 64), `${f}: peak RSS grew ${o.rssGrowthMB} MB`);
  }
}

/** 30 levels of 10 memo references each to the level below (10^30 leaves if anything walked it); leaves it on the stack. */
const laughs = (p: Pickle) => {
  p.op(0x5d, 0x71, 0);
  for (let l = 1; l <= 30; l++) { p.op(0x5d, 0x28); for (let k = 0; k < 10; k++) p.op(0x68, l - 1); p.op(0x65, 0x71, l); }
  return p;
};

test('pickle: memo "billion laughs", cycles, 300k APPENDS, deep nesting and a huge memo are refused cheaply', () => {
  const laughsSize = laughs(new Pickle().global('collections', 'OrderedDict').op(0x29, 0x52).str('a').global('torch._utils', '_rebuild_tensor_v2')
    .op(0x28, 0x28).str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(1).op(0x74, 0x51).int(0))
    .op(0x68, 30, 0x74, 0x52, 0x73, 0x2e); // (storage, 0, size=laughs, stride=laughs) REDUCE, SETITEM, STOP
  const cyclic = new Pickle().op(0x5d, 0x71, 0, 0x68, 0, 0x61); // l = []; l.append(l)
  const appends = new Pickle().op(0x5d, 0x28); for (let i = 0; i < 300_000; i++) appends.op(0x4b, 0); appends.op(0x65);
  const deep = new Pickle(); for (let i = 0; i < 5000; i++) deep.op(0x5d); for (let i = 0; i < 4999; i++) deep.op(0x61);
  const memo = new Pickle().op(0x4e); for (let i = 0; i < 200_000; i++) memo.op(0x72, i & 255, (i >> 8) & 255, i >> 16, 0);
  expectRefused([
    // as a persistent id (an error message used to stringify it) and as a tensor size
    [put('laughs-pid.pth', pthOf(laughs(new Pickle()).op(0x51, 0x2e).bytes())), /unexpected persistent id \(a 10-item tuple\/list\)/],
    [put('laughs-size.pth', pthOf(laughsSize.bytes())), /tensor (size|stride) is a 10-item tuple\/list/],
    [put('cyclic.pth', pthOf(cyclic.op(0x51, 0x2e).bytes())), /unexpected persistent id \(a 1-item tuple\/list\)/],
    [put('appends.pth', pthOf(appends.op(0x2e).bytes())), /pickle stack grows past \d+ items/],
    [put('deep.pth', pthOf(deep.op(0x2e).bytes())), /pickle nests containers deeper than \d+ levels/],
    [put('memo.pth', pthOf(memo.op(0x2e).bytes())), /pickle memo grows past \d+ entries/],
  ]);
});

test('.pth: a small file cannot make us inflate or copy storages the architecture has no use for', async () => {
  const N = 64 << 20; // 64 M floats: 256 MiB inflated, ~256 KB deflated
  const bombData = await deflatedZeros(4 * N);
  const bomb = (key: string) => ({ name: `archive/data/${key}`, data: bombData, deflated: { size: 4 * N } });
  // four names on one storage (each name used to cost a copy of it)
  const names4 = ['a', 'b', 'c', 'd'].map((name): TensorEntry => ({ name, key: '0', numel: N, size: [N] }));
  // the 16 AlexNet names with a tiny architecture's shapes; the last storage is the bomb
  const sd = randomStateDict('torchvision', 1 / 16, 8, 3);
  const small = PARAM_NAMES.map((name, i): TensorEntry => ({ name, key: String(i), numel: sd[name].data.length, size: sd[name].shape }));
  const last = small.length - 1;
  const storages = [...small.slice(0, last).map((e) => ({ name: `archive/data/${e.key}`, data: new Uint8Array(sd[e.name].data.buffer) })), bomb(String(last))];
  const bigLast = small.map((e, i) => (i === last ? { ...e, numel: N } : e));
  expectRefused([
    [put('four-names.pth', pthOf(stateDictPickle(names4), [bomb('0')])), /not an AlexNet state_dict: missing/],
    [put('big-storage.pth', pthOf(stateDictPickle(bigLast), storages)), /storages declare \d+ bytes but the tensors use only \d+/],
    [put('size-lie.pth', pthOf(stateDictPickle(small), storages)), /storage 15 is \d+ bytes in the zip but its 3 FloatStorage elements need 12/],
  ], { mb: 48 });
});

test('safetensors: metadata cannot steer allocations or reads outside the weights folder', () => {
  const sd = randomStateDict('torchvision', 1 / 16, 8, 3);
  const base = metaFor('torchvision', 3, { widthScale: 1 / 16, hidden: 8 });
  const withPp = (pp: object) => encodeSafetensors(sd, { ...metaToStrings(base), preprocessing: JSON.stringify({ ...base.preprocessing, ...pp }) });
  const run = join(dir, 'run'); mkdirSync(run);
  writeFileSync(join(dir, 'outside.f32'), new Uint8Array(256 * 256 * 12));
  symlinkSync(join(dir, 'outside.f32'), join(run, 'link.f32'));
  writeFileSync(join(run, 'short.f32'), new Uint8Array(100));
  mkdirSync(join(run, 'adir.f32'));
  const inRun = (name: string, pp: object) => { const f = join(run, name); writeFileSync(f, withPp(pp)); return f; };
  expectRefused([
    [inRun('resize.safetensors', { resize: 100000, crop: 100000 }), /metadata preprocessing resize 100000 is outside 16\.\.4096/],
    [inRun('crop.safetensors', { resize: 256, crop: 3000 }), /crop 3000 is larger than resize 256/],
    [inRun('tiny.safetensors', { resize: 1, crop: 1 }), /resize 1 is outside/],
    [inRun('std0.safetensors', { std: [0, 1, 1] }), /std values must be > 0/],
    [inRun('devzero.safetensors', { meanImage: '/dev/zero' }), /meanImage \/dev\/zero points outside the weights file's folder/],
    [inRun('etc.safetensors', { meanImage: '../../../../../../etc/hostname' }), /meanImage .* (points outside|is not found)/],
    [inRun('link.safetensors', { meanImage: 'link.f32' }), /meanImage link\.f32 points outside/],
    [inRun('short.safetensors', { meanImage: 'short.f32' }), /meanImage short\.f32 has 100 bytes; a 256x256x3 float32 mean image has 786432/],
    [inRun('adir.safetensors', { meanImage: 'adir.f32' }), /meanImage adir\.f32 is not a regular file/],
    [inRun('missing.safetensors', { meanImage: 'nope.f32' }), /meanImage nope\.f32 is not found beside the weights file/],
  ]);
});

test('ONNX: unpacked fields and huge declared dims are bounded before anything is built', () => {
  // an initializer of 2M unpacked float_data fields (10 MB) in an otherwise empty graph
  const t = new PbWriter().packedInts(1, [2_000_000]).int(2, 1).string(8, 'features.0.weight');
  for (let i = 0; i < 2_000_000; i++) t.float(4, 0);
  const g = new PbWriter().message(5, t);
  const unpacked = new PbWriter().int(1, 8).message(7, g).finish();
  const dims = new PbWriter().int(1, 8).message(7, new PbWriter().message(5, new PbWriter().packedInts(1, new Array(100).fill(1 << 20)).int(2, 1).string(8, 'x'))).finish();
  // 120k nodes of 10 tiny attributes each: every message small, 2.5M fields in all
  const node = new PbWriter(); for (let i = 0; i < 10; i++) node.message(5, new PbWriter().int(3, 1));
  const nodeBytes = node.finish();
  const many = new PbWriter(); for (let i = 0; i < 120_000; i++) many.bytes(1, nodeBytes);
  const manyNodes = new PbWriter().int(1, 8).message(7, many).finish();
  expectRefused([
    [put('unpacked.onnx', unpacked), /protobuf message has more than \d+ fields/],
    [put('many-nodes.onnx', manyNodes), /protobuf file has more than \d+ fields in all/],
    [put('dims.onnx', dims), /expected an AlexNet graph with 5 Conv/],
  ], { mb: 80 });
});

test('safetensors: a small header in front of a large file is refused before the data is read', () => {
  const sd = randomStateDict('torchvision', 1 / 16, 8, 3);
  const good = encodeSafetensors(sd);
  const f = join(dir, 'trailing.safetensors');
  writeFileSync(f, good);
  writeFileSync(f, new Uint8Array(96 << 20), { flag: 'a' }); // 96 MiB the header does not describe
  expectRefused([[f, /100663296 bytes follow the last tensor/]], { mb: 48 });
});
