// Run-folder housekeeping: temps of killed writers (both namings) are removed, a live writer's are kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanStaleTemps } from '../../src/util/atomic-write.ts';
import { cleanForeignTemps } from '../../src/train/run-folder.ts';
import { tmpDir } from '../data/helpers.ts';

test('a kill -9 during the final weights write leaves temps that the next start removes; live ones stay', () => {
  const d = tmpDir('run-temps');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const files = [`.weights.safetensors.tmp-${dead}-a1b2c3`, `weights.safetensors.tmp-${dead}-d4e5f6`, `weights.safetensors.tmp-${process.pid}-live01`, 'weights.safetensors'];
  for (const f of files) writeFileSync(path.join(d, f), 'x');
  assert.deepEqual(cleanStaleTemps(d), [files[0]]);
  assert.deepEqual(cleanForeignTemps(d), [files[1]]);
  assert.deepEqual(files.map((f) => existsSync(path.join(d, f))), [false, false, true, true]);
});
