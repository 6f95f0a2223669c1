// The verified, resumable downloader against a local server: right and wrong hashes, a truncated body,
// 404, a slow body, an interrupted download resumed with Range, and servers that ignore Range.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DownloadError, download, partialPath } from '../../src/io/download.ts';
import { tmpDir } from '../data/helpers.ts';
import { closedPort, startServer } from './hub-server.ts';

// bytes of a PyTorch-written file (torch.save of a small torchvision-shaped AlexNet)
const PTH = new Uint8Array(readFileSync(new URL('../fixtures/io/tv_small.pth', import.meta.url)));
const SHA = createHash('sha256').update(PTH).digest('hex');
const WRONG = SHA.replace(/^./, (c) => (c === '0' ? '1' : '0'));
const half = Math.floor(PTH.length / 2);

const srv = await startServer({
  '/ok.pth': { body: PTH },
  '/slow.pth': { body: PTH, chunk: 16384, pauseMs: 15 },
  '/cut-once.pth': { body: PTH, cutAt: half, cutTimes: 1 },
  '/cut-always.pth': { body: PTH, cutAt: half },
  '/no-range.pth': { body: PTH, range: false },
  '/no-range-cut-once.pth': { body: PTH, range: false, cutAt: half, cutTimes: 1 },
  '/busy.pth': { body: PTH, status: 503 },
});
after(() => srv.close());
const fast = { retryDelayMs: 5 };
const reqs = (p: string) => srv.requests.filter((r) => r.path === p);
const files = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);

test('right hash: the file lands whole at dest, nothing else is left', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  const r = await download({ url: `${srv.url}/ok.pth`, dest, sha256: SHA, size: PTH.length }, fast);
  assert.equal(r.sha256, SHA);
  assert.equal(r.bytes, PTH.length);
  assert.deepEqual(new Uint8Array(readFileSync(dest)), PTH);
  assert.deepEqual(files(d), ['a.pth']);
});

test('wrong hash: refused with both hashes named, and no file of any kind is left', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  await assert.rejects(download({ url: `${srv.url}/ok.pth`, dest, sha256: WRONG }, fast), (e: Error) => {
    assert.ok(e instanceof DownloadError && e.kind === 'mismatch');
    assert.ok(e.message.includes(`expected ${WRONG}`) && e.message.includes(`got ${SHA}`), e.message);
    assert.ok(e.message.includes(`${srv.url}/ok.pth`));
    return true;
  });
  assert.deepEqual(files(d), []);
});

test('wrong size announced by the server is refused before any byte is written', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  await assert.rejects(download({ url: `${srv.url}/ok.pth`, dest, sha256: SHA, size: PTH.length + 1 }, fast), /bytes but \d+ were expected/);
  assert.deepEqual(files(d), []);
});

test('404: one line naming the URL, nothing written', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  await assert.rejects(download({ url: `${srv.url}/missing.pth`, dest, sha256: SHA }, fast), (e: Error) => {
    assert.equal(e.message, `HTTP 404 Not Found from ${srv.url}/missing.pth`);
    return true;
  });
  assert.deepEqual(files(d), []);
});

test('no server: the error names the URL', async () => {
  const url = `http://127.0.0.1:${await closedPort()}/models/x.pth`;
  const d = tmpDir('dl');
  await assert.rejects(download({ url, dest: path.join(d, 'a.pth'), sha256: SHA }, fast), (e: Error) => {
    assert.ok(e instanceof DownloadError && e.kind === 'network');
    assert.match(e.message, new RegExp(`^cannot reach ${url.replace(/[.]/g, '\\.')}: ECONNREFUSED$`));
    return true;
  });
});

test('slow body: progress is reported as bytes arrive and the download completes', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  const seen: [number, number | undefined][] = [];
  const r = await download({ url: `${srv.url}/slow.pth`, dest, sha256: SHA }, { ...fast, onProgress: (n, t) => seen.push([n, t]) });
  assert.equal(r.bytes, PTH.length);
  assert.ok(seen.length >= Math.floor(PTH.length / 16384), `only ${seen.length} progress calls`);
  assert.ok(seen.every(([, t]) => t === PTH.length));
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] >= seen[i - 1][0]);
  assert.equal(seen.at(-1)![0], PTH.length);
});

test('a stalled body is aborted and retried', async () => {
  const s2 = await startServer({ '/stall.pth': { body: PTH, stallAt: half } });
  try {
    const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
    const notes: string[] = [];
    const r = await download({ url: `${s2.url}/stall.pth`, dest, sha256: SHA }, { ...fast, stallMs: 300, onNote: (m) => notes.push(m) });
    assert.equal(r.sha256, SHA);
    assert.ok(r.resumed);
    assert.match(notes.join('\n'), /no data for 0\.3 s; retrying \(1\/3\) from byte/);
  } finally { await s2.close(); }
});

test('interrupted mid-body: the next try resumes with Range from the bytes kept, and verifies', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  const notes: string[] = [];
  const r = await download({ url: `${srv.url}/cut-once.pth`, dest, sha256: SHA, size: PTH.length }, { ...fast, onNote: (m) => notes.push(m) });
  assert.equal(r.sha256, SHA);
  assert.ok(r.resumed);
  const rq = reqs('/cut-once.pth');
  assert.equal(rq.length, 2);
  assert.equal(rq[0].range, undefined);
  assert.match(rq[1].range ?? '', /^bytes=\d+-$/);
  assert.ok(Number(/\d+/.exec(rq[1].range!)![0]) >= half, rq[1].range);
  assert.match(notes.join('\n'), /connection (lost|closed) at byte \d+.*retrying \(1\/3\) from byte \d+/);
  assert.deepEqual(files(d), ['a.pth']);
});

test('always truncated: refused after the retries; the bytes stay only under .partial, dest never appears', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  await assert.rejects(download({ url: `${srv.url}/cut-always.pth`, dest, sha256: SHA }, { ...fast, retries: 2 }), (e: Error) => {
    assert.ok(e instanceof DownloadError && e.kind === 'incomplete');
    assert.match(e.message, /failed after 3 tries: .*kept in .*a\.pth\.partial, run the same command again to resume/);
    return true;
  });
  assert.ok(!existsSync(dest));
  assert.deepEqual(files(d), ['a.pth.partial']);
  // a later run resumes from those bytes once the server behaves
  const r = await download({ url: `${srv.url}/ok.pth`, dest, sha256: SHA }, fast);
  assert.ok(r.resumed);
  assert.match(reqs('/ok.pth').at(-1)!.range ?? '', /^bytes=\d+-$/);
  assert.deepEqual(new Uint8Array(readFileSync(dest)), PTH);
  assert.deepEqual(files(d), ['a.pth']);
});

test('a server that ignores Range: the partial is rewritten from byte 0, not appended to', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  const notes: string[] = [];
  const r = await download({ url: `${srv.url}/no-range-cut-once.pth`, dest, sha256: SHA }, { ...fast, onNote: (m) => notes.push(m) });
  assert.equal(r.sha256, SHA);
  assert.ok(!r.resumed);
  assert.match(notes.join('\n'), /ignored the range request \(HTTP 200\): starting again from byte 0/);
  assert.deepEqual(new Uint8Array(readFileSync(dest)), PTH);
});

test('a bad partial left by an earlier run: the resumed file fails its hash, so it is fetched again from 0', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  mkdirSync(d, { recursive: true });
  writeFileSync(partialPath(dest), Buffer.alloc(half, 0x55));
  const notes: string[] = [];
  const r = await download({ url: `${srv.url}/ok.pth`, dest, sha256: SHA }, { ...fast, onNote: (m) => notes.push(m) });
  assert.equal(r.sha256, SHA);
  assert.match(notes.join('\n'), /resumed file does not verify \(sha256 mismatch: .*\); downloading it again from the start/);
  assert.deepEqual(new Uint8Array(readFileSync(dest)), PTH);
  assert.deepEqual(files(d), ['a.pth']);
});

test('a partial longer than the file is discarded', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  writeFileSync(partialPath(dest), Buffer.alloc(PTH.length + 10, 1));
  const r = await download({ url: `${srv.url}/ok.pth`, dest, sha256: SHA }, fast);
  assert.equal(r.sha256, SHA);
});

test('5xx is retried, then reported with the URL', async () => {
  const d = tmpDir('dl');
  await assert.rejects(download({ url: `${srv.url}/busy.pth`, dest: path.join(d, 'a.pth'), sha256: SHA }, { ...fast, retries: 1 }),
    new RegExp(`failed after 2 tries: HTTP 503 .*from ${srv.url}/busy\\.pth`));
  assert.equal(reqs('/busy.pth').length, 2);
});

test('a second download of the same file while one runs is refused (lock beside the partial)', async () => {
  const d = tmpDir('dl'), dest = path.join(d, 'a.pth');
  const a = download({ url: `${srv.url}/slow.pth`, dest, sha256: SHA }, fast);
  await new Promise((s) => setTimeout(s, 30));
  await assert.rejects(download({ url: `${srv.url}/slow.pth`, dest, sha256: SHA }, fast), /is being downloaded by another process/);
  await a;
  assert.deepEqual(files(d), ['a.pth']);
});
