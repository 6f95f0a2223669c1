// Run-folder housekeeping: temps of killed writers are removed at the next start, a live writer's are kept.
// Every file of a run folder (weights included) goes through the one atomic writer, so one naming covers all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanStaleTemps } from '../../src/util/atomic-write.ts';
import { tmpDir } from '../data/helpers.ts';

test('a kill -9 during the final weights write leaves temps that the next start removes; live ones stay', () => {
  const d = tmpDir('run-temps');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const files = [`.weights.safetensors.tmp-${dead}-a1b2c3`, `.log.jsonl.tmp-${dead}-d4e5f6`, `.weights.safetensors.tmp-${process.pid}-live01`, 'weights.safetensors'];
  for (const f of files) writeFileSync(path.join(d, f), 'x');
  assert.deepEqual(cleanStaleTemps(d).sort(), [files[0], files[1]].sort());
  assert.deepEqual(files.map((f) => existsSync(path.join(d, f))), [false, false, true, true]);
});
