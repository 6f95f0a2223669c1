// `alexnet demo` without real data: it must say so, build a synthetic folder, train, and write the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { ROOT, tmpDir } from '../data/helpers.ts';

test('demo falls back to a synthetic folder, names it, and writes an HTML report', async () => {
  const d = tmpDir('demo');
  const out = path.join(d, 'run');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), 'demo', '--synthetic', '--backend', 'ref', '--epochs', '2', '--limit-per-class', '12', '--out', out, '--progress', 'quiet'],
    { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ALEXNET_QUIET: '1', ALEXNET_SHARED_DATA: path.join(d, 'no-shared-data'), ALEXNET_HOME: path.join(d, 'home'), ALEXNET_DATA: '', ALEXNET_CACHE_DIR: path.join(d, 'cache') } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /training on a SYNTHETIC folder, .*synthetic-data/);
  assert.match(r.stdout, /validation \(60 images\): top-1 [\d.]+% centre/);
  const report = path.join(out, 'report.html');
  // the demo names files by their shorter form, absolute or relative to where it runs
  const shown = /report: (.*)\n/.exec(r.stdout)?.[1];
  assert.ok(shown && path.resolve(ROOT, shown) === report, `report line names ${shown}, expected ${report}`);
  const html = readFileSync(report, 'utf8');
  for (const s of ['<h2>Training curves</h2>', '<svg', 'conv1.png', 'confusion matrix', 'SYNTHETIC']) assert.ok(html.includes(s), s);
  const meta = await sharp(path.join(out, 'conv1.png')).metadata();
  assert.ok(meta.width! > 100 && meta.height! > 100);
  assert.ok(existsSync(path.join(out, 'weights.safetensors')));
});
