// CLI errors as a user meets them: one line on stderr naming the file or flag and the problem, exit 1,
// never a raw ENOENT or a stack; output folders are created; --help shows the allowed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { cliError } from '../../src/cli/errors.ts';
import { smallWeights } from '../server/helpers.ts';
import { ROOT } from '../data/helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT, env });

/** stderr is exactly the expected line(s): the error, then at most commander's usage hint. */
function oneLine(r: ReturnType<typeof cli>, re: RegExp): void {
  assert.equal(r.status, 1, `exit status for: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n').filter((l) => l !== '(run with --help for usage)');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /ENOENT|EISDIR|EADDRINUSE|ERR_|    at /);
}

test('missing and wrong-kind files are named in one line', async () => {
  const { file, dir } = await smallWeights();
  try {
    const absent = path.join(dir, 'absent.safetensors');
    oneLine(cli('predict', '--weights', absent, 'x.jpg'), new RegExp(`^alexnet: weights file not found: ${absent}$`));
    oneLine(cli('predict', '--weights', dir, 'x.jpg'), new RegExp(`^alexnet: weights file is a directory, not a file: ${dir}$`));
    oneLine(cli('convert', absent, path.join(dir, 'o.onnx')), new RegExp(`^alexnet: weights file not found: ${absent}$`));
    oneLine(cli('viz', '--weights', absent, '--out', path.join(dir, 'viz')), /^alexnet: weights file not found: /);
    oneLine(cli('eval', '--weights', file, '--data', path.join(dir, 'nodata')), /^alexnet: image folder not found: .*nodata$/);
    oneLine(cli('data', 'check', file), /^alexnet: image folder is a file, not a folder: .*small\.safetensors$/);
    oneLine(cli('serve', '--weights', absent), /^alexnet: weights file not found: /);
    // a missing image among several: named, the others still classified, exit 1
    const img = path.join(ROOT, 'test/fixtures/io');
    const r = cli('predict', '--weights', file, '--backend', 'ref', path.join(dir, 'no.jpg'), img);
    assert.equal(r.status, 1);
    assert.deepEqual(r.stderr.trim().split('\n'), [`alexnet: file not found: ${path.join(dir, 'no.jpg')}`, `alexnet: is a directory, not an image: ${img}`]);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('options: choices and required options through commander, named in one line', () => {
  oneLine(cli('convert', 'x.onnx', 'y.bin', '--format', 'tflite'), /^alexnet: option '--format <fmt>' argument 'tflite' is invalid\. Allowed choices are safetensors, onnx, pth\.$/);
  oneLine(cli('predict', 'x.jpg'), /^alexnet: required option '--weights <file>' not specified$/);
  oneLine(cli('predict', '--weights', 'w', '--backend', 'gpu', 'x.jpg'), /argument 'gpu' is invalid\. Allowed choices are auto, native, webgpu, ref\./);
  oneLine(cli('serve', '--weights', 'w', '--port', '99999'), /^alexnet: --port must be an integer from 0 to 65535 \(0 = any free port\), got '99999'$/);
  oneLine(cli('frobnicate'), /^alexnet: unknown command 'frobnicate'$/);
  const help = cli('convert', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--format <fmt>[\s\S]*?choices:\s+"safetensors", "onnx", "pth"/);
  assert.match(cli('predict', '--help').stdout, /--backend <name>[\s\S]*?choices:\s+"auto",\s+"native",\s+"webgpu",\s+"ref",\s+default:\s+"auto"/);
  assert.match(cli('help', 'serve').stdout, /Usage: alexnet serve \[options\]/);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(cli('--version').stdout.trim(), pkg.version);
});

test('convert creates the output folder', async () => {
  const { file, dir } = await smallWeights();
  try {
    const out = path.join(dir, 'new', 'deeper', 'w.onnx');
    const r = cli('convert', file, out);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(out));
    assert.match(r.stdout, /-> .*w\.onnx \(onnx/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('serve on a port already in use says so in one line', { timeout: 60_000 }, async () => {
  const { file, dir } = await smallWeights();
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
  const port = (blocker.address() as { port: number }).port;
  try {
    const child = spawn(process.execPath, [BIN, 'serve', '--weights', file, '--backend', 'ref', '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    assert.equal(code, 1);
    assert.equal(err.trim(), `alexnet: port ${port} on 127.0.0.1 is already in use: stop the other server or pick another --port`);
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cliError: system errors become one line naming the file; a temp file is reported as its target', () => {
  const sys = (code: string, p: string) => Object.assign(new Error(`${code}: raw, open '${p}'`), { code, path: p, syscall: 'open' });
  assert.equal(cliError(sys('ENOENT', 'w.safetensors')), 'file not found: w.safetensors');
  assert.equal(cliError(sys('EISDIR', 'runs')), 'is a directory, not a file: runs');
  assert.equal(cliError(sys('EACCES', '/root/x')), 'permission denied: /root/x');
  assert.equal(cliError(sys('ENOENT', 'out/w.onnx.tmp-4242-abc123')), 'cannot write out/w.onnx: its folder does not exist');
  assert.equal(cliError(sys('EACCES', 'out/.w.safetensors.tmp-4242-abc123')), 'permission denied: out/w.safetensors');
  assert.equal(cliError(new Error('first line\n    at stack')), 'first line');
  assert.equal(cliError('plain'), 'plain');
});

test('data stats creates the folder of --out', async () => {
  const { file, dir } = await smallWeights();
  void file;
  try {
    const imgs = path.join(dir, 'imgs', 'a');
    mkdirSync(imgs, { recursive: true });
    // two tiny PNGs: 1x1 red and 1x1 blue, written as bytes (no encoder needed)
    const sharp = (await import('sharp')).default;
    for (const [i, c] of [[0, [255, 0, 0]], [1, [0, 0, 255]]] as const) {
      writeFileSync(path.join(imgs, `${i}.png`), await sharp(Buffer.from(c), { raw: { width: 1, height: 1, channels: 3 } }).png().toBuffer());
    }
    const out = path.join(dir, 'stats', 'nested', 's.json');
    const r = cli('data', 'stats', path.join(dir, 'imgs'), '--out', out, '--side', '8', '--cache-dir', path.join(dir, 'cache'));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(readFileSync(out, 'utf8')).mean.length === 3);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
