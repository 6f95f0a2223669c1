// Every route of buildServer on 127.0.0.1, dynamic batching, limits and errors, and no leak over 200 requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import sharp from 'sharp';
import { load, type AlexNetClassifier, type Prediction } from '../../src/api.ts';
import { buildServer, type AlexNetServer } from '../../src/server/app.ts';
import { blob, image, post, smallWeights } from './helpers.ts';
import { TOL, assertClose } from '../tolerances.ts';

let api: AlexNetClassifier, app: AlexNetServer, base: string, dir: string;
test.before(async () => {
  const w = await smallWeights();
  dir = w.dir;
  api = await load({ weights: w.file, backend: 'ref' });
  app = await buildServer({ api, limits: { bodyLimit: 300_000, maxPixels: 1_000_000, maxBatch: 8, batchWaitMs: 30, timeoutMs: 20_000 } });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
test.after(async () => { await app.shutdown(); api.dispose(); rmSync(dir, { recursive: true, force: true }); });

test('GET /healthz and /v1/model', async () => {
  const h = await (await fetch(`${base}/healthz`)).json();
  assert.equal(h.status, 'ok');
  const m = await (await fetch(`${base}/v1/model`)).json();
  assert.equal(m.variant, 'torchvision');
  assert.equal(m.classes, 10);
  assert.equal(m.inputSize, 224);
  assert.equal(m.classNames[1], 'springer');
  assert.equal(m.hidden, 32);
  // the explorer's routes (src/server/web.ts) are mounted by buildServer and reach the model
  const arch = await fetch(`${base}/v1/architecture`);
  assert.equal(arch.status, 200);
  assert.equal((await arch.json()).variant, 'torchvision');
});

test('POST /v1/classify: raw body and multipart give the API\'s predictions; ?top=K; /v1/embed', async () => {
  const img = await image(320, 240, 1);
  const want = await api.classify(img, 3);
  const raw = await post(base, '/v1/classify?top=3', img);
  assert.equal(raw.status, 200);
  assert.deepEqual(raw.json.predictions, want);
  const fd = new FormData();
  fd.append('file', blob(img), 'x.png');
  const r = await fetch(`${base}/v1/classify?top=3`, { method: 'POST', body: fd });
  assert.equal(r.status, 200);
  assert.deepEqual((await r.json()).predictions, want);
  const five = await post(base, '/v1/classify', await image(300, 300, 2, 'jpeg'), { 'content-type': 'application/octet-stream' });
  assert.equal((five.json.predictions as unknown[]).length, 5);
  const e = await post(base, '/v1/embed', img);
  assert.equal(e.status, 200);
  assert.equal(e.json.dim, 32);
  assert.deepEqual(e.json.embedding, Array.from(await api.infer(img, { embedding: true })));
});

test('errors: bad image 400, empty 400, bad top 400, body too large 413, pixel bomb 413, unknown route 404', async () => {
  const bad = await post(base, '/v1/classify', Buffer.from('definitely not an image'));
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error), /cannot decode|unsupported image format/);
  assert.equal((await post(base, '/v1/classify', Buffer.alloc(0))).status, 400);
  const top = await post(base, '/v1/classify?top=zero', await image(64, 64));
  assert.equal(top.status, 400);
  assert.match(String(top.json.error), /top must be a positive integer/);
  const big = await post(base, '/v1/classify', Buffer.alloc(400_000, 7));
  assert.equal(big.status, 413);
  assert.match(String(big.json.error), /too large/);
  const fd = new FormData();
  fd.append('file', blob(Buffer.alloc(400_000, 7)), 'big.png');
  const bigMp = await fetch(`${base}/v1/classify`, { method: 'POST', body: fd });
  assert.equal(bigMp.status, 413);
  // 3000x3000 of one colour: a few KB of PNG, 9 megapixels decoded
  const bomb = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
  assert.ok(bomb.length < 300_000);
  const b = await post(base, '/v1/classify', bomb);
  assert.equal(b.status, 413);
  assert.match(String(b.json.error), /pixel limit/);
  const nf = await fetch(`${base}/v2/nothing`);
  assert.equal(nf.status, 404);
  assert.match((await nf.json()).error, /no route GET \/v2\/nothing/);
  assert.equal((await fetch(`${base}/healthz`)).status, 200); // still alive
});

test('concurrent requests are batched: 16 requests in fewer forwards, each gets its own answer', async () => {
  const imgs = await Promise.all(Array.from({ length: 16 }, (_, i) => image(200 + i, 230, 10 + i)));
  const want: Prediction[][] = [];
  for (const img of imgs) want.push(await api.classify(img, 2));
  const before = { ...app.batcher.stats };
  const got = await Promise.all(imgs.map((img) => post(base, '/v1/classify?top=2', img)));
  const forwards = app.batcher.stats.forwards - before.forwards, items = app.batcher.stats.items - before.items;
  assert.equal(items, 16);
  assert.ok(forwards < 16 && forwards >= 2, `16 requests took ${forwards} forwards`);
  assert.ok(app.batcher.stats.largestBatch > 1);
  got.forEach((g, i) => {
    assert.equal(g.status, 200);
    const p = g.json.predictions as { index: number; probability: number }[];
    assert.deepEqual(p.map((x) => x.index), want[i].map((x) => x.index), `request ${i}`);
    assertClose(p.map((x) => x.probability), want[i].map((x) => x.probability), TOL.batchedVsSingle, `request ${i} probabilities`);
  });
});

test('per-request timeout gives 503 JSON and the server keeps serving', async () => {
  const slow: AlexNetClassifier = { ...api, inferBatch: async (xs, o) => { await new Promise((r) => setTimeout(r, 800)); return api.inferBatch(xs, o); } };
  const s = await buildServer({ api: slow, web: false, limits: { timeoutMs: 150, batchWaitMs: 1 } });
  const b = await s.listen({ port: 0, host: '127.0.0.1' });
  try {
    const r = await post(b, '/v1/classify', await image(64, 64));
    assert.equal(r.status, 503);
    assert.match(String(r.json.error), /timed out after 150 ms/);
    assert.equal((await fetch(`${b}/healthz`)).status, 200);
  } finally { await s.shutdown(); }
});

test('a full queue answers 503 busy instead of growing without bound', async () => {
  const slow: AlexNetClassifier = { ...api, inferBatch: async (xs, o) => { await new Promise((r) => setTimeout(r, 1000)); return api.inferBatch(xs, o); } };
  const s = await buildServer({ api: slow, web: false, limits: { maxQueue: 1, maxBatch: 1, batchWaitMs: 1 } });
  const b = await s.listen({ port: 0, host: '127.0.0.1' });
  try {
    const img = await image(64, 64);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const r1 = post(b, '/v1/classify', img); // runs (slowly)
    await sleep(300);
    const r2 = post(b, '/v1/classify', img); // waits in the queue
    await sleep(300);
    const r3 = await post(b, '/v1/classify', img); // queue full
    assert.equal(r3.status, 503);
    assert.match(String(r3.json.error), /server busy: 1 images already queued \(limit 1\)/);
    assert.equal((await r1).status, 200);
    assert.equal((await r2).status, 200);
  } finally { await s.shutdown(); }
});

test('no leak: 200 requests (good and bad) keep RSS growth bounded', { timeout: 300_000 }, async () => {
  const img = await image(240, 240, 5, 'jpeg');
  const bad = Buffer.from('nope');
  const round = async (n: number) => {
    for (let i = 0; i < n; i += 8) {
      await Promise.all(Array.from({ length: 8 }, (_, j) => post(base, (i + j) % 4 === 3 ? '/v1/embed' : '/v1/classify', (i + j) % 5 === 4 ? bad : img)));
    }
  };
  await round(40); // warm up allocators and caches
  const rss0 = process.memoryUsage().rss;
  const items0 = app.batcher.stats.items;
  await round(200);
  const grown = (process.memoryUsage().rss - rss0) / 1e6;
  assert.equal(app.batcher.stats.items - items0, 160); // 40 of 200 were bad images
  assert.ok(grown < 60, `RSS grew ${grown.toFixed(1)} MB over 200 requests`);
  const h = await (await fetch(`${base}/healthz`)).json();
  assert.equal(h.inflight, 0);
  assert.equal(h.queued, 0);
});
