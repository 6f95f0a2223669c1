// An inference load does not read the weights into JS: openWeights checks a safetensors header as loadWeights
// does and hands each tensor on as its file range; the native backend preads it straight into the parameter
// arena, any other backend reads the range itself. Both give exactly the saved weights.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createModel } from '../../src/model/index.ts';
import { loadWeights, openWeights, saveWeights } from '../../src/io/weights.ts';
import { encodeSafetensors } from '../../src/io/safetensors.ts';
import { SKIP } from '../backend/native/helpers.ts';
import { metaFor, randomStateDict } from './helpers.ts';

process.env.ALEXNET_QUIET = '1';
const dir = mkdtempSync(join(tmpdir(), 'alexnet-open-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const cfg = { variant: 'torchvision' as const, widthScale: 1 / 16, hidden: 8, classes: 3 };
const sd = randomStateDict('torchvision', 1 / 16, 8, 3, 7);
const file = join(dir, 'w.safetensors');
await saveWeights(file, sd, metaFor('torchvision', 3, { widthScale: 1 / 16, hidden: 8 }));

test('openWeights: F32 safetensors come back as file ranges with the metadata, nothing read', async () => {
  const o = await openWeights(file);
  assert.equal(o.format, 'safetensors');
  assert.deepEqual(o.meta, (await loadWeights(file)).meta);
  for (const [n, t] of Object.entries(o.sd)) {
    assert.equal(t.data, undefined, n);
    assert.ok(t.range, n);
    assert.deepEqual(t.shape, sd[n].shape);
    assert.deepEqual(await t.range.read(), sd[n].data, `${n}: the range holds the saved values`);
  }
});

for (const backend of ['ref', 'native'] as const) {
  test(`${backend}: a model loaded from file ranges holds exactly the saved weights`, { skip: backend === 'native' && SKIP }, async () => {
    const m = await createModel({ ...cfg, backend });
    await m.loadStateDict((await openWeights(file)).sd);
    assert.deepEqual(await m.stateDict(), sd);
    m.dispose();
  });
}

test('openWeights gives other formats (and non-F32 safetensors) in memory, as loadWeights does', async () => {
  const pth = join(dir, 'w.pth');
  await saveWeights(pth, sd, metaFor('torchvision', 3, { widthScale: 1 / 16, hidden: 8 }), { format: 'pth' });
  const o = await openWeights(pth);
  assert.equal(o.format, 'pth');
  assert.deepEqual(o.sd['features.0.weight'].data, sd['features.0.weight'].data);
});

test('a header that lies is refused before any range exists; a file cut after opening fails the load', { skip: SKIP }, async () => {
  const bad = join(dir, 'bad.safetensors');
  const { 'features.6.bias': _drop, ...rest } = sd;
  writeFileSync(bad, encodeSafetensors(rest));
  await assert.rejects(openWeights(bad), (e: Error) => e.name === 'WeightsFormatError' && /missing features\.6\.bias/.test(e.message));
  const cut = join(dir, 'cut.safetensors');
  writeFileSync(cut, encodeSafetensors(sd));
  const o = await openWeights(cut);
  truncateSync(cut, 4096);
  const m = await createModel({ ...cfg, backend: 'native' });
  await assert.rejects(m.loadStateDict(o.sd), /cut\.safetensors: file ends early/);
  m.dispose();
});
