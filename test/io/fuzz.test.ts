// Random corruption of every reader (pickle, .pth/zip, safetensors, ONNX/protobuf, images through
// sharp): mutations of valid files (bit flips, truncations, splices, length-field edits) from a fixed
// seed. Each reader's cases run in a child with a capped heap and a deadline; every case must load or
// throw a one-line error naming its input, quickly, without growing the peak RSS: no RangeError or
// TypeError escaping, no crash, no hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWorker } from './hostile.ts';

const SEED = 20240611;
const PLAN: [reader: string, count: number, minRefused: number][] = [
  ['pickle', 400, 0.3], ['pth', 400, 0.4], ['safetensors', 400, 0.4], ['onnx', 400, 0.4], ['image', 200, 0.2],
];
/** Per case: generous for a loaded 2-core machine; the hostile cases these catch cost seconds and gigabytes. */
const MAX_MS = 3000, MAX_RSS_GROWTH_MB = 96;

for (const [reader, count, minRefused] of PLAN) {
  test(`fuzz ${reader}: ${count} mutated inputs load or give one-line errors, bounded in time and memory`, { timeout: 60_000 }, () => {
    const r = runWorker(['fuzz', reader, String(SEED), String(count)], { timeoutMs: 50_000, heapMB: 384 });
    assert.equal(r.status, 0, `${reader} child ${r.signal ?? `exit ${r.status}`} after ${r.outcomes.length} cases (next: #${r.outcomes.length}): ${r.stderr.split('\n').filter(Boolean).slice(-4).join(' | ')}`);
    assert.equal(r.outcomes.length, count, `${reader}: ${r.outcomes.length} of ${count} cases reported`);
    let refused = 0;
    const slowest = r.outcomes.reduce((a, o) => (o.ms > a.ms ? o : a));
    for (const o of r.outcomes) {
      assert.ok(o.ms < MAX_MS, `${o.file}: took ${o.ms} ms`);
      assert.ok(o.rssGrowthMB < MAX_RSS_GROWTH_MB, `${o.file}: peak RSS grew ${o.rssGrowthMB} MB`);
      if (o.ok) continue;
      refused++;
      const m = o.message ?? '';
      if (reader === 'image') assert.ok(o.name !== 'TypeError' && o.name !== 'RangeError', `${o.file}: ${o.name}: ${m}`);
      else assert.equal(o.name, 'WeightsFormatError', `${o.file}: ${o.name}: ${m}`);
      assert.ok(m.includes(o.file), `${o.file}: error does not name the input: ${m}`);
      assert.ok(!m.trim().includes('\n'), `${o.file}: error is not one line: ${m.slice(0, 300)}`);
    }
    assert.ok(refused >= minRefused * count, `${reader}: only ${refused} of ${count} refused (mutations too weak?)`);
    console.log(`# fuzz ${reader}: ${count - refused} loaded, ${refused} refused, slowest ${slowest.ms} ms (${slowest.file})`);
  });
}
