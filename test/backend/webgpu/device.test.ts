// Adapter choice: software adapters are recognised from their info and refused when asked (what `auto`
// asks), so `auto` never lands on SwiftShader or llvmpipe.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquireDevice, summarize } from '../../../src/backend/webgpu/device.ts';
import { SKIP } from './helpers.ts';

const info = (o: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }) => ({ vendor: '', architecture: '', device: '', description: '', ...o }) as GPUAdapterInfo;

test('software adapters are recognised from the adapter info', () => {
  assert.equal(summarize(info({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' })).software, true);
  assert.equal(summarize(info({ vendor: 'mesa', description: 'llvmpipe (LLVM 19.1.7, 256 bits)' })).software, true);
  assert.equal(summarize(info({ vendor: 'nvidia', architecture: 'ampere', isFallbackAdapter: true })).software, true);
  assert.equal(summarize(info({ vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA H100' })).software, false);
  assert.equal(summarize(info({ vendor: 'amd', architecture: 'rdna-3', description: 'Radeon RX 7900' })).software, false);
});

test('a software adapter is refused when software is not allowed (auto)', { skip: SKIP }, async () => {
  const a = await acquireDevice();
  if (!a.adapter.software) { a.device.destroy(); return; } // a real GPU here: nothing to refuse
  a.device.destroy();
  await assert.rejects(acquireDevice({ allowSoftware: false }), /only a software WebGPU adapter is available \(.*software\)/);
});
