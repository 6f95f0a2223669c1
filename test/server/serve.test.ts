// `alexnet serve` as a process: it listens on 127.0.0.1, and SIGTERM lets queued/in-flight requests finish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { image, post, smallWeights } from './helpers.ts';

const bin = fileURLToPath(new URL('../../bin/alexnet.mjs', import.meta.url));

test('SIGTERM drains in-flight requests, then the process exits 0', { timeout: 120_000 }, async () => {
  const { file, dir } = await smallWeights();
  // a long batch wait keeps the requests queued inside the server when SIGTERM arrives
  const child = spawn(process.execPath, [bin, 'serve', '--weights', file, '--port', '0', '--backend', 'ref', '--batch-wait', '1500', '--batch', '64'],
    { env: { ...process.env, ALEXNET_QUIET: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  try {
    const base = await new Promise<string>((res, rej) => {
      child.stdout.on('data', (d) => { out += d; const m = /listening on (http:\/\/\S+)/.exec(out); if (m) res(m[1]); });
      child.on('exit', () => rej(new Error(`serve exited early: ${out}${err}`)));
    });
    assert.match(out, /torchvision AlexNet, 10 classes, input 224/);
    const imgs = await Promise.all([1, 2, 3, 4, 5].map((i) => image(230, 230, i)));
    const reqs = imgs.map((img) => post(base, '/v1/classify?top=1', img));
    await new Promise((r) => setTimeout(r, 500)); // requests are now waiting in the batcher
    child.kill('SIGTERM');
    const res = await Promise.all(reqs);
    for (const r of res) {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal((r.json.predictions as unknown[]).length, 1);
    }
    assert.equal(await exited, 0, err);
    assert.match(out, /SIGTERM: finishing in-flight requests/);
    assert.match(out, /5 images in 1 forwards served/);
    await assert.rejects(fetch(`${base}/healthz`)); // nothing listens any more
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve refuses a malformed weights file with a clear message', async () => {
  const child = spawn(process.execPath, [bin, 'serve', '--weights', fileURLToPath(new URL('../fixtures/io/hostile_os_system.pth', import.meta.url)), '--port', '0'],
    { env: { ...process.env, ALEXNET_QUIET: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.equal(code, 1);
  assert.match(err, /alexnet: .*global posix\.system, which is not allowed/);
});
