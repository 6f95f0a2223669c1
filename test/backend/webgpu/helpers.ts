// Shared set-up for the webgpu tests: one device per test file (software adapters are slow to create),
// the skip reason when no adapter exists, and the native tests' Twin with the webgpu tolerance.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createWebGpuBackend, type WebGpuBackend } from '../../../src/backend/webgpu/index.ts';
import { acquireDevice, type Acquired } from '../../../src/backend/webgpu/device.ts';
import { assertClose, TOL, type Tol } from '../../tolerances.ts';
import { Twin, type Pair } from '../native/helpers.ts';

export { rand, type Pair } from '../native/helpers.ts';

// Debian's chromium package ships SwiftShader (a Vulkan driver on the CPU): the tests use it when no other
// Vulkan driver is configured. XDG_RUNTIME_DIR silences a harmless warning from the Vulkan loader.
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
if (!process.env.XDG_RUNTIME_DIR) {
  const d = path.join(tmpdir(), `xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = d;
}

let acquired: Acquired | undefined;
let reason: string | false = false;
try {
  acquired = await acquireDevice();
} catch (err) {
  reason = `SKIP: webgpu adapter missing (${(err as Error).message})`;
}

/** false, or why the webgpu tests are skipped. */
export const SKIP: string | false = reason;

/** A backend on the file's shared device. */
export function gpuBackend(opts: { maxBindingBytes?: number } = {}): Promise<WebGpuBackend> {
  if (!acquired) throw new Error(String(SKIP));
  return createWebGpuBackend({ acquired, ...opts });
}

/** Twin of (webgpu, ref) whose check uses the webgpu tolerance. */
export class GpuTwin extends Twin {
  tol: Tol = TOL.webgpuVsRef;
  override async check(p: Pair, what: string): Promise<void> {
    const [a, b] = await Promise.all([this.nat.read(p.nat), this.ref.read(p.ref)]);
    if (p.nat.shape.join() !== p.ref.shape.join()) throw new Error(`${what}: shape ${p.nat.shape} vs ref ${p.ref.shape}`);
    assertClose(a, b, this.tol, what);
  }
}
