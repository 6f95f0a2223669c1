// The explorer's JSON/PNG routes (registerWebRoutes) through fastify.inject, with the real small model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { registerWebRoutes } from '../../src/server/web.ts';
import { modelFromWeights } from '../../src/viz/load.ts';
import { rankChannels, softmaxTopK } from '../../src/viz/activations.ts';
import { filterTiles } from '../../src/viz/filters.ts';
import { smallWeights, SAMPLES, CLASS_NAMES } from './helpers.ts';

let app: FastifyInstance, noRun: FastifyInstance, logFile = '', jpeg: Buffer;

before(async () => {
  const { dir, file } = await smallWeights();
  const runDir = path.join(dir, 'run');
  mkdirSync(runDir);
  logFile = path.join(runDir, 'log.jsonl');
  const { model, meta } = await modelFromWeights(file, 'ref');
  app = Fastify();
  await registerWebRoutes(app, { model, meta, runDir });
  noRun = Fastify();
  await registerWebRoutes(noRun, { model, meta });
  await app.ready(); await noRun.ready();
  const dog = path.join(SAMPLES, 'dog.jpg');
  jpeg = existsSync(dog) ? readFileSync(dog) : await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 200, g: 80, b: 30 } } }).jpeg().toBuffer();
});
after(async () => { await app.close(); await noRun.close(); });

test('architecture: summary rows, totals equal the model, tensors attached to their layers', async () => {
  const r = await app.inject('/v1/architecture');
  assert.equal(r.statusCode, 200);
  const a = r.json();
  assert.equal(a.variant, 'paper');
  assert.deepEqual(a.inputShape, [3, 227, 227]);
  assert.equal(a.layers.length, 22);
  assert.equal(a.totals.params, a.layers.reduce((s: number, l: { params: number }) => s + l.params, 0));
  const conv1 = a.layers.find((l: { name: string }) => l.name === 'conv1');
  assert.deepEqual(conv1.outputShape, [24, 55, 55]);
  assert.deepEqual(conv1.tensors.map((t: { name: string }) => t.name), ['features.0.weight', 'features.0.bias']);
  const fc8 = a.layers.find((l: { name: string }) => l.name === 'fc8');
  assert.deepEqual(fc8.tensors.map((t: { shape: number[] }) => t.shape), [[10, 64], [10]]);
});

test('filters: paper halves as two groups; JSON tiles and a PNG grid', async () => {
  const j = (await app.inject('/v1/filters')).json();
  assert.equal(j.count, 24);
  assert.deepEqual(j.groups.map((g: number[]) => [g[0], g.length]), [[0, 12], [12, 12]]);
  assert.equal(Buffer.from(j.tiles[5], 'base64').length, 11 * 11 * 3);
  const png = await app.inject('/v1/filters?format=png&scale=2');
  assert.equal(png.headers['content-type'], 'image/png');
  const meta = await sharp(png.rawPayload).metadata();
  assert.equal(meta.width, 2 * (6 * 22 + 7 * 2) + 12);
});

test('filterTiles stretches each kernel to 0..255 and keeps RGB planes apart', () => {
  const data = new Float32Array(2 * 3 * 2 * 2);
  for (let i = 0; i < 12; i++) data[i] = i; // filter 0: R plane 0..3, G 4..7, B 8..11
  const f = filterTiles({ shape: [2, 3, 2, 2], data }, 'torchvision');
  assert.deepEqual(f.groups, [[0, 1]]);
  assert.deepEqual([...f.tiles[0].slice(0, 3)], [0, Math.round(4 * 255 / 11), Math.round(8 * 255 / 11)]);
  assert.equal(f.tiles[0][3 * 3 + 2], 255);
  assert.deepEqual([...f.tiles[1]], new Array(12).fill(0)); // constant filter: no division by zero
});

test('rankChannels puts the strongest mean first; softmaxTopK sums to 1 over all classes', () => {
  const data = Float32Array.from([0, 0, 0, 0, 5, 5, 5, 1, 1, 2, 3, 4]);
  const r = rankChannels({ shape: [1, 3, 2, 2], data }, 2);
  assert.deepEqual(r.map((c) => c.channel), [1, 2]);
  assert.deepEqual([...r[1].data], [0, 85, 170, 255]);
  const p = softmaxTopK([1, 3, 2], ['a', 'b', 'c'], 3);
  assert.deepEqual(p.map((x) => x.className), ['b', 'c', 'a']);
  assert.ok(Math.abs(p.reduce((s, x) => s + x.probability, 0) - 1) < 1e-9);
});

test('activations: crop, top-5 and 16 ranked maps for each of the 5 conv layers', async () => {
  const r = await app.inject({ method: 'POST', url: '/v1/activations', payload: jpeg, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(r.statusCode, 200, r.body);
  const a = r.json();
  assert.equal(a.size, 227);
  assert.equal(Buffer.from(a.crop, 'base64').length, 227 * 227 * 3);
  assert.equal(a.predictions.length, 5);
  for (const p of a.predictions) assert.equal(p.className, CLASS_NAMES[p.index]);
  assert.deepEqual(a.layers.map((l: { name: string }) => l.name), ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']);
  for (const l of a.layers) {
    assert.equal(l.channels.length, 16);
    const means = l.channels.map((c: { mean: number }) => c.mean);
    assert.deepEqual(means, [...means].sort((x: number, y: number) => y - x), `${l.name} not strongest first`);
    assert.equal(Buffer.from(l.channels[0].data, 'base64').length, l.shape[1] * l.shape[2]);
  }
  assert.ok(r.body.length < 400_000, `payload ${r.body.length} bytes`);
});

test('bad uploads: plain-words 400s, 413 for oversized, server keeps working', async () => {
  const junk = await app.inject({ method: 'POST', url: '/v1/activations', payload: 'not an image at all', headers: { 'content-type': 'text/plain' } });
  assert.equal(junk.statusCode, 400);
  assert.match(junk.json().error, /could not be read as an image/);
  const empty = await app.inject({ method: 'POST', url: '/v1/activations', payload: Buffer.alloc(0), headers: { 'content-type': 'image/jpeg' } });
  assert.equal(empty.statusCode, 400);
  assert.match(empty.json().error, /no image/);
  const truncated = await app.inject({ method: 'POST', url: '/v1/activations', payload: jpeg.subarray(0, 2000), headers: { 'content-type': 'image/jpeg' } });
  assert.equal(truncated.statusCode, 400);
  const big = await app.inject({ method: 'POST', url: '/v1/activations', payload: Buffer.alloc(11 * 1024 * 1024), headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(big.statusCode, 413);
  assert.match(big.json().error, /too large/);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/activations', payload: jpeg, headers: { 'content-type': 'image/jpeg' } })).statusCode, 200);
});

test('samples: listed and served; no path traversal', async (t) => {
  const list = (await app.inject('/v1/samples')).json();
  if (!existsSync(SAMPLES)) { t.diagnostic('SKIP part: ../shared/data/samples missing'); assert.deepEqual(list.samples, []); return; }
  assert.ok(list.samples.some((s: { file: string }) => s.file === 'dog.jpg'));
  const dog = await app.inject('/v1/samples/dog.jpg');
  assert.equal(dog.statusCode, 200);
  assert.equal(dog.headers['content-type'], 'image/jpeg');
  assert.deepEqual(dog.rawPayload, readFileSync(path.join(SAMPLES, 'dog.jpg')));
  for (const bad of ['..%2F..%2Fpackage.json', '..%2Fsamples%2Fdog.jpg', 'nope.jpg', '%2Fetc%2Fpasswd.jpg', '..', '.%2Fdog.jpg']) assert.equal((await app.inject(`/v1/samples/${bad}`)).statusCode, 404, bad);
});

test('samples: a link out of the folder is neither listed nor served; labels mark what the model knows', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-samples-'));
  const outside = mkdtempSync(path.join(tmpdir(), 'alexnet-outside-'));
  const saved = process.env.ALEXNET_SAMPLES;
  try {
    writeFileSync(path.join(dir, 'dog.jpg'), jpeg);
    writeFileSync(path.join(dir, 'golf_ball__1.jpg'), jpeg);
    writeFileSync(path.join(dir, 'samoyed__2.jpg'), jpeg);
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'inner.jpg'), jpeg);
    symlinkSync(path.join(dir, 'sub', 'inner.jpg'), path.join(dir, 'inner-link.jpg')); // a link that stays inside is fine
    writeFileSync(path.join(outside, 'secret.jpg'), 'not yours');
    symlinkSync('/etc/passwd', path.join(dir, 'passwd.jpg'));
    symlinkSync(path.join(outside, 'secret.jpg'), path.join(dir, 'secret.jpg'));
    symlinkSync(outside, path.join(dir, 'outdir.jpg'));
    symlinkSync(path.join(dir, 'nowhere.jpg'), path.join(dir, 'dangling.jpg'));
    writeFileSync(path.join(dir, 'samples.json'), JSON.stringify([{ file: 'dog.jpg', label: 'English springer' }, { file: 'inner-link.jpg', label: ['zebra', 'tench'] }]));
    process.env.ALEXNET_SAMPLES = dir;
    const { samples } = (await app.inject('/v1/samples')).json();
    assert.deepEqual(samples, [
      { file: 'dog.jpg', label: 'English springer', inClass: true },
      { file: 'golf_ball__1.jpg', label: 'golf ball', inClass: true },
      { file: 'inner-link.jpg', label: 'zebra / tench', inClass: true },
      { file: 'samoyed__2.jpg', label: 'samoyed', inClass: false },
    ]);
    assert.equal((await app.inject('/v1/samples/inner-link.jpg')).statusCode, 200);
    for (const bad of ['passwd.jpg', 'secret.jpg', 'outdir.jpg', 'dangling.jpg', 'samples.json', 'sub%2Finner.jpg']) {
      const r = await app.inject(`/v1/samples/${bad}`);
      assert.equal(r.statusCode, 404, bad);
      assert.doesNotMatch(r.body, /root:|not yours/);
    }
  } finally {
    if (saved === undefined) delete process.env.ALEXNET_SAMPLES; else process.env.ALEXNET_SAMPLES = saved;
    rmSync(dir, { recursive: true, force: true }); rmSync(outside, { recursive: true, force: true });
  }
});

test('run log: 404 JSON without a run; whole lines only, since=offset, reset on a new log', async () => {
  const none = await noRun.inject('/v1/run/log');
  assert.equal(none.statusCode, 404);
  assert.match(none.json().error, /--run/);
  assert.deepEqual((await app.inject('/v1/run/log')).json().entries, []); // no log yet: empty, not an error
  writeFileSync(logFile, '{"type":"step","step":1,"loss":2.3}\n{"type":"step","step":2,"loss":2.2}\n{"type":"st');
  const a = (await app.inject('/v1/run/log')).json();
  assert.deepEqual(a.entries.map((e: { step: number }) => e.step), [1, 2]);
  appendFileSync(logFile, 'ep","step":3,"loss":2.1}\nnot json\n');
  const b = (await app.inject(`/v1/run/log?since=${a.offset}`)).json();
  assert.deepEqual(b.entries.map((e: { step: number }) => e.step), [3]);
  writeFileSync(logFile, '{"type":"step","step":1,"loss":9}\n');
  const c = (await app.inject(`/v1/run/log?since=${b.offset}`)).json();
  assert.equal(c.reset, true);
  assert.deepEqual(c.entries.map((e: { loss: number }) => e.loss), [9]);
});

test('run events: server-sent events deliver new log lines live', async () => {
  writeFileSync(logFile, '{"type":"step","step":1,"loss":2}\n');
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${url}/v1/run/events`, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream');
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        got.push(chunk);
        const all = got.join('');
        if (all.includes('"step":1') && !all.includes('"step":2')) appendFileSync(logFile, '{"type":"step","step":2,"loss":1.5}\n');
        if (all.includes('"step":2')) { req.destroy(); resolve(); }
      });
    });
    req.on('error', (e) => (got.join('').includes('"step":2') ? resolve() : reject(e)));
    setTimeout(() => reject(new Error(`no live event in 10 s: ${got.join('')}`)), 10_000).unref();
  });
  assert.match(got.join(''), /event: log\ndata: .*"step":1/);
});
