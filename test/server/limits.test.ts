// The service holds its own limits: no value that switches a protection off, slow clients cut at --timeout,
// one admission control (queue, deadline, body-byte budget) for every model route, multipart errors as 4xx.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { load, type AlexNetClassifier } from '../../src/api.ts';
import { buildServer, DEFAULT_LIMITS, type AlexNetServer } from '../../src/server/app.ts';
import { checkLimits } from '../../src/server/limits.ts';
import { image, post, smallWeights } from './helpers.ts';

let api: AlexNetClassifier, dir: string;
test.before(async () => {
  const w = await smallWeights();
  dir = w.dir;
  api = await load({ weights: w.file, backend: 'ref' });
});
test.after(() => { api.dispose(); rmSync(dir, { recursive: true, force: true }); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(limits: Parameters<typeof buildServer>[0]['limits'], a: AlexNetClassifier = api, web = false): Promise<{ s: AlexNetServer; base: string; port: number }> {
  const s = await buildServer({ api: a, web, limits });
  const base = await s.listen({ port: 0, host: '127.0.0.1' });
  return { s, base, port: Number(new URL(base).port) };
}

/** A raw client: writes `head`, then `drip` every `everyMs` until the server answers or closes. */
function trickle(port: number, head: string, drip: string, everyMs: number): Promise<{ reply: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    let reply = '';
    const timer = setInterval(() => { if (!sock.destroyed) sock.write(drip); }, everyMs);
    const done = () => { clearInterval(timer); resolve({ reply, ms: Date.now() - t0 }); };
    sock.on('data', (d) => { reply += d; });
    sock.on('close', done);
    sock.on('error', () => {});
    sock.write(head);
    setTimeout(() => sock.destroy(), 15_000).unref(); // never hang the test
  });
}

test('a limit of 0 is refused with one line that says what it would switch off', async () => {
  for (const [k, why] of [['maxPixels', /decompression-bomb guard off/], ['timeoutMs', /time out every request/], ['maxQueue', /refuse every request/],
    ['bodyLimit', /refuse every request/], ['maxInflightBytes', /refuse every request/]] as const) {
    assert.throws(() => checkLimits({ ...DEFAULT_LIMITS, [k]: 0 }), (e: Error) => why.test(e.message) && !e.message.includes('\n'), k);
    await assert.rejects(buildServer({ api, web: false, limits: { [k]: 0 } }), why, k);
  }
  assert.throws(() => checkLimits({ ...DEFAULT_LIMITS, maxPixels: 0 }, { maxPixels: '--max-pixels' }), /^Error: --max-pixels must be an integer >= 1, got 0/);
  assert.throws(() => checkLimits({ ...DEFAULT_LIMITS, timeoutMs: 1.5 }), /timeoutMs must be an integer/);
  assert.throws(() => checkLimits({ ...DEFAULT_LIMITS, maxInflightBytes: 100, bodyLimit: 1000 }), /must be >= the body limit/);
  assert.doesNotThrow(() => checkLimits({ ...DEFAULT_LIMITS, batchWaitMs: 0 })); // no waiting for company is a choice, not a hole
});

test('--timeout cuts slow headers and slow bodies at the deadline (408), and the server keeps serving', { timeout: 60_000 }, async () => {
  const { s, base, port } = await serve({ timeoutMs: 1000 });
  try {
    const hdr = await trickle(port, 'POST /v1/classify HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 150);
    assert.match(hdr.reply, /^HTTP\/1\.1 408/);
    assert.ok(hdr.ms < 2600, `slow headers cut after ${hdr.ms} ms (deadline 1000)`);
    const body = await trickle(port, 'POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n', 'x', 100);
    assert.match(body.reply, /^HTTP\/1\.1 408/);
    assert.ok(body.ms < 2600, `slow body cut after ${body.ms} ms (deadline 1000)`);
    const ok = await post(base, '/v1/classify', await image(64, 64));
    assert.equal(ok.status, 200);
    assert.equal(s.admission.bytes, 0); // the cut requests gave their reservations back
  } finally { await s.shutdown(); }
});

test('/v1/activations goes through the same queue bound and deadline as /v1/classify', { timeout: 60_000 }, async () => {
  // every model call (batched or explorer) waits 700 ms for its turn
  const slow: AlexNetClassifier = { ...api, exclusive: async (fn) => { await sleep(700); return api.exclusive(fn); } };
  const img = await image(80, 80);
  {
    const { s, base } = await serve({ timeoutMs: 300 }, slow, true);
    try {
      const r = await post(base, '/v1/activations', img);
      assert.equal(r.status, 503);
      assert.match(String(r.json.error), /timed out after 300 ms/);
    } finally { await s.shutdown(); }
  }
  const { s, base } = await serve({ maxQueue: 1, timeoutMs: 20_000 }, slow, true);
  try {
    const r1 = post(base, '/v1/activations', img); // runs (slowly)
    await sleep(250);
    const r2 = post(base, '/v1/activations', img); // waits its turn
    await sleep(250);
    const r3 = await fetch(`${base}/v1/activations`, { method: 'POST', body: new Uint8Array(img), headers: { 'content-type': 'image/png' } });
    assert.equal(r3.status, 503);
    assert.equal(r3.headers.get('retry-after'), '1');
    assert.match((await r3.json()).error, /server busy: 1 images already queued \(limit 1\)/);
    const c = await post(base, '/v1/classify', img); // the classify route sees the explorer's queue too
    assert.equal(c.status, 503);
    assert.equal((await r1).status, 200);
    assert.equal((await r2).status, 200);
  } finally { await s.shutdown(); }
});

test('body bytes held at once are capped: over the budget is 503 + Retry-After before the body is read, and freed after', { timeout: 60_000 }, async () => {
  const bodyLimit = 100_000;
  const { s, base, port } = await serve({ bodyLimit, maxInflightBytes: 2 * bodyLimit, timeoutMs: 20_000 }, api, true);
  const socks: net.Socket[] = [];
  try {
    // two uploads that announce a full-size body and then stall hold the whole budget
    for (let i = 0; i < 2; i++) {
      const sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => {});
      sock.write(`POST /v1/${i ? 'activations' : 'classify'} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: ${bodyLimit}\r\n\r\nabc`);
      socks.push(sock);
    }
    const held = async () => { for (let i = 0; i < 50 && s.admission.bytes < 2 * bodyLimit; i++) await sleep(20); return s.admission.bytes; };
    assert.equal(await held(), 2 * bodyLimit);
    const img = await image(64, 64);
    for (const route of ['/v1/classify', '/v1/embed', '/v1/activations']) {
      const r = await fetch(base + route, { method: 'POST', body: new Uint8Array(img), headers: { 'content-type': 'image/png' } });
      assert.equal(r.status, 503, route);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match((await r.json()).error, /server busy: 200000 request body bytes in flight \(limit 200000\)/);
    }
    const h = await (await fetch(`${base}/healthz`)).json();
    assert.equal(h.inflightBytes, 2 * bodyLimit);
    assert.equal(h.shedBytes, 3);
    for (const sock of socks) sock.destroy();
    for (let i = 0; i < 50 && s.admission.bytes > 0; i++) await sleep(20);
    assert.equal(s.admission.bytes, 0);
    assert.equal((await post(base, '/v1/classify', img)).status, 200);
  } finally { for (const sock of socks) sock.destroy(); await s.shutdown(); }
});

test('multipart without a boundary is 400, too many fields or files 413, each one line of JSON', async () => {
  const { s, base } = await serve({});
  try {
    const nb = await post(base, '/v1/classify', Buffer.from('--x\r\n\r\n'), { 'content-type': 'multipart/form-data' });
    assert.equal(nb.status, 400);
    assert.match(String(nb.json.error), /^bad multipart request: .*[Bb]oundary/);
    const fd = new FormData();
    for (let i = 0; i < 20; i++) fd.append(`f${i}`, 'v');
    fd.append('file', new Blob([new Uint8Array(await image(32, 32))], { type: 'image/png' }), 'x.png');
    const many = await fetch(`${base}/v1/classify`, { method: 'POST', body: fd });
    const manyJson = await many.json();
    assert.equal(many.status, 413, JSON.stringify(manyJson));
    assert.match(manyJson.error, /too many fields/);
    const two = new FormData();
    for (let i = 0; i < 2; i++) two.append(`file${i}`, new Blob([new Uint8Array(await image(32, 32))], { type: 'image/png' }), `x${i}.png`);
    const twoR = await fetch(`${base}/v1/classify`, { method: 'POST', body: two });
    const twoJson = await twoR.json();
    assert.ok(twoR.status === 413 || twoR.status === 200, JSON.stringify(twoJson)); // the first file is used when it is read before the second part is parsed
    if (twoR.status === 413) assert.match(twoJson.error, /too many files/);
    const garbled = await post(base, '/v1/embed', Buffer.from('not multipart at all'), { 'content-type': 'multipart/form-data; boundary=zz' });
    assert.ok(garbled.status === 400, `garbled multipart: ${garbled.status} ${JSON.stringify(garbled.json)}`);
    for (const r of [nb, garbled]) assert.ok(!String(r.json.error).includes('\n'));
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  } finally { await s.shutdown(); }
});
