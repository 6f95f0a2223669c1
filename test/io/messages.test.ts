// Careless users get one line naming the file and the real problem, not a misleading one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWeights } from '../../src/io/weights.ts';
import { encodeSafetensors } from '../../src/io/safetensors.ts';
import { randomStateDict } from './helpers.ts';

process.env.ALEXNET_QUIET = '1';
const dir = mkdtempSync(join(tmpdir(), 'alexnet-msg-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(file: string): Promise<string> {
  try { await loadWeights(file); } catch (e) {
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'WeightsFormatError', `${file}: ${e.name}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
    assert.ok(e.message.includes(file), `does not name ${file}: ${e.message}`);
    return e.message;
  }
  throw new Error(`${file} loaded`);
}
const withHeader = (h: unknown, data: Uint8Array) => {
  const hb = Buffer.from(JSON.stringify(h));
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(hb.length));
  return Buffer.concat([len, hb, data]);
};

test('a legacy (pre-1.6) torch.save says so and how to convert it', async () => {
  // torch < 1.6: magic number, protocol version, sys_info, then the object: all separate pickles
  const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  const proto = [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e];
  const f = join(dir, 'legacy.pth');
  writeFileSync(f, Uint8Array.from([...magic, ...proto, 0x80, 0x02, 0x7d, 0x2e]));
  const m = await refusal(f);
  assert.match(m, /legacy \(pre-1\.6, non-zip\) torch\.save format is not supported/);
  assert.match(m, /torch\.save\(torch\.load\("old\.pth"\), "new\.pth"\)/);
  assert.doesNotMatch(m, /LONG1/);
});

test('a safetensors header that is a JSON array is reported as a safetensors problem', async () => {
  for (const [name, h] of [['array', [1, 2, 3]], ['short array', []], ['string', 'x']] as const) {
    const f = join(dir, `${name.replace(' ', '-')}.safetensors`);
    writeFileSync(f, withHeader(h, new Uint8Array(16)));
    const m = await refusal(f);
    assert.match(m, /safetensors header is a JSON (array|string), not an object of tensors/, name);
    assert.doesNotMatch(m, /protobuf|ONNX/, name);
  }
});

test('an extra tensor (even a zero-size one inside another\'s span) is an unexpected name, not an overlap', async () => {
  const sd = randomStateDict('torchvision', 1 / 16, 8, 3);
  const good = Buffer.from(encodeSafetensors(sd));
  const n = Number(good.readBigUInt64LE(0));
  const header = JSON.parse(good.subarray(8, 8 + n).toString());
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['zero', { extra: { dtype: 'F32', shape: [0], data_offsets: [8, 8] } }, /unexpected tensor name extra: an AlexNet state_dict holds only 16 tensors/],
    ['newline', { 'bad\nname': { dtype: 'F32', shape: [0], data_offsets: [0, 0] } }, /unexpected tensor name "bad\\nname"/],
    ['many', Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`x${i}`, { dtype: 'F32', shape: [0], data_offsets: [0, 0] }])), /unexpected tensor names x0, x1, x2, x3, x4 and 4 more/],
  ];
  for (const [name, extra, re] of cases) {
    const f = join(dir, `extra-${name}.safetensors`);
    writeFileSync(f, withHeader({ ...header, ...extra }, good.subarray(8 + n)));
    const m = await refusal(f);
    assert.match(m, re, name);
    assert.doesNotMatch(m, /overlap/, name);
  }
});

test('a directory, a missing file and a device are named in one line', async () => {
  const d = join(dir, 'weights-dir');
  mkdirSync(d);
  await assert.rejects(loadWeights(d), (e: Error) => e.message === `${d} is a directory, not a weights file`);
  const nope = join(dir, 'nope.safetensors');
  await assert.rejects(loadWeights(nope), (e: Error) => e.message === `file not found: ${nope}`);
  await assert.rejects(loadWeights(join(dir, 'legacy.pth', 'x')), (e: Error) => e.message.startsWith('file not found: '));
  await assert.rejects(loadWeights('/dev/null'), (e: Error) => e.message.startsWith('/dev/null is not a regular file'));
});
