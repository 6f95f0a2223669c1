// Sharded datasets: the tar container, pack (counts, sha256, skipped files, exact pixels), the
// streamed epoch order (a function of seed and epoch; resume at any position), and training on shards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packFolder } from '../../src/data/pack.ts';
import { loadImage, loadResized, defaultPreprocessing, writeInput } from '../../src/data/preprocess.ts';
import { IMAGENET_LIGHTING, sampleAug } from '../../src/data/augment.ts';
import { ShardLoader } from '../../src/data/shard-stream.ts';
import { epochOrder, isShardFolder, parseShard, readShardIndex, shardStarts } from '../../src/data/shards.ts';
import { TAR_END, tarEntries, tarHeader, tarPadding } from '../../src/data/tar.ts';
import { DEFAULTS, type TrainConfig } from '../../src/train/setup.ts';
import { train } from '../../src/train/trainer.ts';
import { disposeModel } from '../../src/cli/infer.ts';
import { assertClose, TOL } from '../tolerances.ts';
import { IMAGENETTE, ROOT, SKIP_SHARED, haveShared, tmpDir } from './helpers.ts';

process.env.ALEXNET_QUIET = '1';
const CLASSES = ['n01440764', 'n02102040', 'n02979186'];
const PER_CLASS = 20;
const SIDE = 73; // the cache side of 64px crops: round(64 * 256 / 224)
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('tar: entries round-trip, and a damaged header or a truncated archive is named', () => {
  const a = Buffer.from('hello'), b = new Uint8Array(512).fill(7);
  const buf = Buffer.concat([tarHeader('k.jpg', a.length), a, tarPadding(a.length), tarHeader('k.cls', b.length), b, tarPadding(b.length), TAR_END]);
  assert.equal(buf.length % 512, 0);
  const got = [...tarEntries(buf)];
  assert.deepEqual(got.map((e) => e.name), ['k.jpg', 'k.cls']);
  assert.deepEqual(Buffer.from(got[0].data), a);
  assert.deepEqual(new Uint8Array(got[1].data), b);
  const bad = Buffer.from(buf); bad[3] ^= 1;
  assert.throws(() => [...tarEntries(bad, 'x.tar')], /x\.tar: bad tar header checksum/);
  assert.throws(() => [...tarEntries(buf.subarray(0, 1024), 'y.tar')], /y\.tar: .*(runs past|truncated)/);
});

test('epoch order: a permutation fixed by (seed, epoch), different across epochs and seeds', () => {
  const counts = [50, 50, 50, 13];
  const o = epochOrder(counts, 1, 0, 32);
  assert.deepEqual([...o.order].sort((x, y) => x - y), Array.from({ length: 163 }, (_, i) => i));
  for (let q = 0; q < 163; q++) assert.equal(o.posOf[o.order[q]], q);
  assert.deepEqual(epochOrder(counts, 1, 0, 32).order, o.order);
  assert.notDeepEqual(epochOrder(counts, 1, 1, 32).order, o.order);
  assert.notDeepEqual(epochOrder(counts, 2, 0, 32).order, o.order);
  // the shuffle buffer really mixes: neighbours in the order are not neighbours in the files
  let adjacent = 0;
  for (let q = 1; q < 163; q++) if (Math.abs(o.order[q] - o.order[q - 1]) === 1) adjacent++;
  assert.ok(adjacent < 20, `${adjacent} adjacent pairs`);
});

/** 3 classes x 20 real photos (links) plus one truncated JPEG in the first class. */
function realSubset(root: string): { corrupt: string } {
  for (const c of CLASSES) {
    mkdirSync(path.join(root, c), { recursive: true });
    const src = path.join(IMAGENETTE, 'train', c);
    for (const f of readdirSync(src).sort().slice(0, PER_CLASS)) symlinkSync(path.join(src, f), path.join(root, c, f));
  }
  const first = readdirSync(path.join(root, CLASSES[0])).sort()[0];
  const bytes = readFileSync(path.join(root, CLASSES[0], first));
  const corrupt = path.join(root, CLASSES[0], 'zz-truncated.JPEG');
  writeFileSync(corrupt, bytes.subarray(0, bytes.length >> 1));
  return { corrupt };
}

test('pack: counts, sha256, the corrupt file skipped and counted, raw records = the cache pixels, JPEG close to them', async (t) => {
  if (!haveShared()) { t.skip(SKIP_SHARED); console.log(SKIP_SHARED); return; }
  const d = tmpDir('shards');
  const { corrupt } = realSubset(path.join(d, 'src'));
  const raw = await packFolder(path.join(d, 'src'), path.join(d, 'raw'), { side: SIDE, shardSize: 16, format: 'raw', workers: 2 });
  assert.ok(isShardFolder(path.join(d, 'raw')));
  assert.equal(raw.images, 3 * PER_CLASS);
  assert.deepEqual(raw.classCounts, [PER_CLASS, PER_CLASS, PER_CLASS]);
  assert.equal(raw.skipped.count, 1);
  assert.equal(raw.skipped.first[0].path, corrupt);
  assert.deepEqual(raw.shards.map((s) => s.count), [16, 16, 16, 12]);
  const labels: number[] = [];
  const rawHashes: string[] = [];
  const recsRaw = [];
  for (const s of raw.shards) {
    const buf = readFileSync(path.join(d, 'raw', s.file));
    assert.equal(sha(buf), s.sha256);
    assert.equal(buf.length, s.bytes);
    for (const r of parseShard(buf, s, s.file)) { labels.push(r.label); rawHashes.push(sha(r.data)); recsRaw.push(r); }
    // pack shuffles: a shard mixes classes
    assert.ok(new Set(parseShard(buf, s, s.file).map((r) => r.label)).size > 1, `${s.file} holds one class`);
  }
  assert.deepEqual(CLASSES.map((_, c) => labels.filter((l) => l === c).length), raw.classCounts);
  // raw records are exactly loadResized's pixels (what the ImageFolder cache holds)
  const want: string[] = [];
  for (const c of CLASSES) for (const f of readdirSync(path.join(d, 'src', c)).sort().slice(0, PER_CLASS)) want.push(sha((await loadResized(path.join(d, 'src', c, f), SIDE)).data));
  assert.deepEqual([...rawHashes].sort(), want.sort());
  // a flipped byte in a shard is caught by its sha256
  const b0 = readFileSync(path.join(d, 'raw', raw.shards[0].file)); b0[5000] ^= 1;
  assert.throws(() => parseShard(b0, raw.shards[0], 'shard-0'), /shard-0: sha256 .* corrupt shard/);
  // JPEG shards: the same order, ~10x smaller, pixels close to raw
  const jpg = await packFolder(path.join(d, 'src'), path.join(d, 'jpg'), { side: SIDE, shardSize: 16, workers: 2 });
  assert.equal(jpg.images, raw.images);
  const jb = jpg.shards.reduce((s, x) => s + x.bytes, 0), rb = raw.shards.reduce((s, x) => s + x.bytes, 0);
  assert.ok(jb * 3 < rb, `jpeg ${jb} B vs raw ${rb} B`);
  const j0 = parseShard(readFileSync(path.join(d, 'jpg', jpg.shards[0].file)), jpg.shards[0], 'j0');
  let mad = 0, cnt = 0;
  for (let i = 0; i < j0.length; i++) {
    assert.equal(j0[i].label, recsRaw[i].label);
    const px = (await loadImage(Buffer.from(j0[i].data))).data;
    for (let k = 0; k < px.length; k++) mad += Math.abs(px[k] - recsRaw[i].data[k]);
    cnt += px.length;
  }
  assertClose([mad / cnt], [0], TOL.shardJpegMeanAbs, 'JPEG q90 vs raw, mean |diff| in 0..255');
  await assert.rejects(packFolder(path.join(d, 'src'), path.join(d, 'raw'), { side: SIDE }), /already holds a shard index/);
  assert.equal(readShardIndex(path.join(d, 'jpg')).images, 60);
  // shards without their index (a pack killed before the end) are named as such, not read as an image folder
  mkdirSync(path.join(d, 'cut'));
  writeFileSync(path.join(d, 'cut', 'shard-000000.tar'), readFileSync(path.join(d, 'jpg', jpg.shards[0].file)));
  assert.throws(() => isShardFolder(path.join(d, 'cut')), /no index\.json: an interrupted pack/);
  assert.equal(isShardFolder(path.join(d, 'src')), false);
});

test('stream: every image once per epoch, order from (seed, epoch), resume at any batch gives the same rest, memory bounded', async (t) => {
  if (!haveShared()) { t.skip(SKIP_SHARED); console.log(SKIP_SHARED); return; }
  const d = tmpDir('shards');
  realSubset(path.join(d, 'src'));
  await packFolder(path.join(d, 'src'), path.join(d, 'sh'), { side: SIDE, shardSize: 16, workers: 2 });
  const pp = defaultPreprocessing('torchvision', 64);
  const mk = (seed: number) => new ShardLoader(path.join(d, 'sh'), pp, { batch: 7, seed, workers: 2, shuffleBuffer: 8 });
  const a = mk(5), b = mk(5), other = mk(6);
  try {
    assert.equal(a.stepsPerEpoch, 9);
    const epoch0 = [];
    for (let k = 0; k < 9; k++) epoch0.push(await a.get(0, k));
    const labels = epoch0.flatMap((x) => [...x.labels]);
    assert.deepEqual(CLASSES.map((_, c) => labels.filter((l) => l === c).length), [PER_CLASS, PER_CLASS, PER_CLASS]);
    assert.ok(a.peakHeld <= 8 + 16, `held ${a.peakHeld} records (buffer 8 + shard 16)`);
    // each held record owns just its bytes (a view would keep its whole shard file alive)
    const biggest = Math.max(...readShardIndex(path.join(d, 'sh')).shards.map((s) => s.bytes));
    assert.ok(a.peakHeldBytes > 0 && a.peakHeldBytes < biggest * 2, `held ${a.peakHeldBytes} bytes; largest shard ${biggest}`);
    assert.ok(a.decoded >= 60 && Number.isFinite(a.decodeRate()) && a.decodeRate() > 0, `decoded ${a.decoded} at ${a.decodeRate()} img/s`);
    const e1 = await a.get(1, 0);
    assert.notDeepEqual(e1.x, epoch0[0].x, 'epoch 1 starts elsewhere');
    const o0 = await other.get(0, 0);
    assert.notDeepEqual(o0.x, epoch0[0].x, 'another seed, another order');
    // a fresh loader jumping to batch 4 of epoch 0 (as a resumed run does) continues identically
    for (let k = 4; k < 9; k++) {
      const r = await b.get(0, k);
      assert.deepEqual(r.labels, epoch0[k].labels, `labels of batch ${k}`);
      assert.deepEqual(r.x, epoch0[k].x, `pixels of batch ${k}`);
    }
    assert.deepEqual((await b.get(1, 0)).x, e1.x);
    assert.ok(b.peakHeld <= 8 + 16);
  } finally { a.close(); b.close(); other.close(); }
});

test('train --data SHARDS: stop mid-epoch, resume, losses equal an uninterrupted run', async (t) => {
  if (!haveShared()) { t.skip(SKIP_SHARED); console.log(SKIP_SHARED); return; }
  const d = tmpDir('shards');
  realSubset(path.join(d, 'src'));
  const data = path.join(d, 'sh');
  await packFolder(path.join(d, 'src'), data, { side: SIDE, shardSize: 16, workers: 2 });
  const cfg = (out: string): TrainConfig => ({
    ...DEFAULTS, data, variant: 'torchvision', out, imageSize: 64, epochs: 2, batch: 8, widthScale: 0.125, hidden: 32,
    backend: 'ref', seed: 3, schedule: 'cosine', workers: 2, initScheme: 'lsuv',
  });
  // 60 images / batch 8 = 8 steps per epoch (the last partial)
  const straight = await train(cfg(path.join(d, 'straight')), { progress: 'quiet' });
  disposeModel(straight.model);
  assert.equal(straight.losses.length, 16);
  const out = path.join(d, 'split');
  const first = await train(cfg(out), { progress: 'quiet', maxSteps: 5 });
  disposeModel(first.model);
  assert.equal(first.interrupted, true);
  const rest = await train(cfg(out), { progress: 'quiet', resume: out });
  disposeModel(rest.model);
  assert.deepEqual(rest.losses.map((l) => l[0]), straight.losses.slice(5).map((l) => l[0]));
  const epochs = readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'epoch');
  assert.equal(epochs.length, 2);
  for (const e of epochs) assert.ok(e.decodeImgPerSPerCore > 0, 'the epoch record carries the decode rate');
  assertClose([...first.losses, ...rest.losses].map((l) => l[1]), straight.losses.map((l) => l[1]), TOL.resumeLosses, 'losses across the resume');
  await assert.rejects(train({ ...cfg(path.join(d, 'wrong')), imageSize: 96 }, { progress: 'quiet' }), /shards hold 73px images but this run needs 110px/);
});

test('CLI: alexnet data pack writes the shards and reports the skipped file', async (t) => {
  if (!haveShared()) { t.skip(SKIP_SHARED); console.log(SKIP_SHARED); return; }
  const d = tmpDir('shards');
  const { corrupt } = realSubset(path.join(d, 'src'));
  const r = execFileSync(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), 'data', 'pack', path.join(d, 'src'), '--out', path.join(d, 'sh'), '--side', String(SIDE), '--shard-size', '25'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(r, /^60 images \(3 classes\) in 3 shards/m);
  const idx = readShardIndex(path.join(d, 'sh'));
  assert.deepEqual(idx.shards.map((s) => s.count), [25, 25, 10]);
  assert.equal(idx.skipped.first[0].path, corrupt);
  assert.throws(() => execFileSync(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), 'data', 'pack', path.join(d, 'src'), '--out', path.join(d, 'sh')], { stdio: 'pipe' }), /already holds a shard index/);
});

test('stream (raw shards): a batch equals the order, augmentation and crop computed here from the records', async (t) => {
  if (!haveShared()) { t.skip(SKIP_SHARED); console.log(SKIP_SHARED); return; }
  const d = tmpDir('shards');
  realSubset(path.join(d, 'src'));
  const dir = path.join(d, 'raw');
  const idx = await packFolder(path.join(d, 'src'), dir, { side: SIDE, shardSize: 16, format: 'raw', workers: 2 });
  const pp = defaultPreprocessing('torchvision', 64);
  const lighting = IMAGENET_LIGHTING;
  const L = new ShardLoader(dir, pp, { batch: 7, seed: 9, workers: 2, shuffleBuffer: 8, lighting });
  try {
    const recs = idx.shards.flatMap((s) => parseShard(readFileSync(path.join(dir, s.file)), s, s.file));
    assert.equal(shardStarts(idx)[idx.shards.length], recs.length);
    const { order } = epochOrder(idx.shards.map((s) => s.count), 9, 1, 8);
    const per = 3 * 64 * 64;
    for (const k of [0, 8]) {
      const b = await L.get(1, k);
      const want = new Float32Array(b.n * per);
      for (let j = 0; j < b.n; j++) {
        const q = k * 7 + j, r = recs[order[q]], p = sampleAug(9, 1, q, SIDE, 64, lighting);
        assert.equal(b.labels[j], r.label);
        writeInput(want, j * per, { data: r.data, width: SIDE, height: SIDE, channels: 3 }, pp, { crop: { x: p.x, y: p.y }, flip: p.flip, shift: p.shift });
      }
      assert.deepEqual(b.x, want, `batch ${k} of epoch 1`);
    }
  } finally { L.close(); }
});
