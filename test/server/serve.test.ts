// `alexnet serve` as a process: it listens on 127.0.0.1, and SIGTERM lets queued/in-flight requests finish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

/** Runs `alexnet serve ARGS` to its exit; stdout, stderr and the exit code. */
function run(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { env: { ...process.env, ALEXNET_QUIET: '1', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((res) => child.on('exit', (code) => { clearTimeout(timer); res({ code, out, err }); }));
}

test('bad flags and a busy port: one line each, exit 1', { timeout: 120_000 }, async () => {
  const { file, dir } = await smallWeights();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const busy = (blocker.address() as net.AddressInfo).port;
  try {
    const cases: [string[], RegExp][] = [
      [['--max-pixels', '0'], /^alexnet: --max-pixels must be an integer >= 1, got 0 \(0 would turn the decompression-bomb guard off\)\n$/],
      [['--timeout', '0'], /^alexnet: --timeout must be an integer >= 1, got 0 \(a deadline of 0 would time out every request\)\n$/],
      [['--max-queue', '0'], /^alexnet: --max-queue must be an integer >= 1, got 0 \(a queue of 0 would refuse every request\)\n$/],
      [['--port', '99999'], /^alexnet: --port must be an integer from 0 to 65535 \(0 = any free port\), got '99999'\n$/],
      [['--port', String(busy)], new RegExp(`^alexnet: port ${busy} on 127\\.0\\.0\\.1 is already in use: stop the other server or pick another --port\\n$`)],
    ];
    const res = await Promise.all(cases.map(([a]) => run(['--weights', file, '--backend', 'ref', ...a])));
    res.forEach((r, i) => {
      assert.equal(r.code, 1, `${cases[i][0].join(' ')}: ${r.out}${r.err}`);
      assert.match(r.err, cases[i][1]);
    });
  } finally { blocker.close(); rmSync(dir, { recursive: true, force: true }); }
});

test('without --weights: the newest run folder is served, or one line says how to get a model', { timeout: 120_000 }, async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alexnet-serve-'));
  const { file, dir } = await smallWeights();
  try {
    const home = path.join(root, 'home');
    const none = await run(['--port', '0'], { ALEXNET_HOME: home }, root);
    assert.equal(none.code, 1);
    assert.match(none.err, /^alexnet: no model to serve: .*alexnet pull torchvision.*alexnet train.*--weights FILE\n$/);
    mkdirSync(path.join(root, 'runs', 'small'), { recursive: true });
    copyFileSync(file, path.join(root, 'runs', 'small', 'weights.safetensors'));
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--backend', 'ref'], { env: { ...process.env, ALEXNET_QUIET: '1', ALEXNET_HOME: home }, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const base = await new Promise<string>((res, rej) => {
        child.stdout.on('data', (d) => { out += d; const m = /listening on (http:\/\/\S+)/.exec(out); if (m) res(m[1]); });
        child.on('exit', () => rej(new Error(`serve exited early: ${out}`)));
      });
      assert.match(out, /no --weights given, serving the newest training run: .*runs\/small\/weights\.safetensors/);
      assert.equal((await (await fetch(`${base}/v1/model`)).json()).classes, 10);
      assert.equal((await fetch(`${base}/v1/run/log`)).status, 200); // the run's folder is the explorer's run
    } finally { child.kill('SIGKILL'); }
  } finally { rmSync(root, { recursive: true, force: true }); rmSync(dir, { recursive: true, force: true }); }
});
