// Finding a WebGPU adapter: the browser's navigator.gpu, or in Node the optional `webgpu` package (Dawn).
// A software adapter (SwiftShader, llvmpipe/lavapipe, or one flagged isFallbackAdapter) is usable but
// never chosen by `auto`: it is for correctness checks, not speed.

export interface AdapterSummary { vendor: string; architecture: string; device: string; description: string; software: boolean }

/** Why there is no adapter, in one line with the fix. */
export class NoAdapterError extends Error {
  constructor(message: string) { super(message); this.name = 'NoAdapterError'; }
}

// Keeps Dawn's GPU object alive for the process (its adapters and devices hang off it).
let nodeGpu: GPU | undefined;

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const NODE_HINT = 'no WebGPU adapter: Dawn found no Vulkan driver. Install libvulkan1 with a driver ' +
  `(mesa-vulkan-drivers), or use Chromium's software one: VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`;

async function nodeGPU(): Promise<GPU> {
  if (nodeGpu) return nodeGpu;
  const name = 'webgpu'; // not a literal import: the browser bundle must not try to resolve it
  let mod: { create(flags: string[]): GPU };
  try {
    mod = await import(/* @vite-ignore */ name);
  } catch (err) {
    throw new NoAdapterError(`webgpu backend unavailable: the optional npm package 'webgpu' is not installed (${(err as Error).message.split('\n')[0]}); run npm install webgpu`);
  }
  nodeGpu = mod.create([]);
  return nodeGpu;
}

export function summarize(info: GPUAdapterInfo): AdapterSummary {
  const s = { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const software = fallback || /swiftshader|llvmpipe|lavapipe|softpipe|software|warp/i.test(Object.values(s).join(' '));
  return { ...s, software };
}

export function adapterName(a: AdapterSummary): string {
  const parts = [a.vendor, a.architecture, a.description || a.device].filter((x) => x && x.length);
  return `${[...new Set(parts)].join(' ') || 'unknown adapter'}${a.software ? ' (software)' : ''}`;
}

export interface Acquired { device: GPUDevice; adapter: AdapterSummary; features: string[] }

/** An adapter and a device with the adapter's largest buffer limits. Throws NoAdapterError (one line). */
export async function acquireDevice(opts: { allowSoftware?: boolean } = {}): Promise<Acquired> {
  const browser = typeof navigator !== 'undefined' && (navigator as Navigator & { gpu?: GPU }).gpu;
  const gpu = browser || (typeof process !== 'undefined' && process.versions?.node ? await nodeGPU() : undefined);
  if (!gpu) throw new NoAdapterError('no WebGPU in this browser (navigator.gpu is missing)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoAdapterError(browser ? 'no WebGPU adapter: the browser exposes navigator.gpu but gave no adapter' : NODE_HINT);
  const summary = summarize(adapter.info);
  if (summary.software && opts.allowSoftware === false) {
    throw new NoAdapterError(`only a software WebGPU adapter is available (${adapterName(summary)})`);
  }
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(8, l.maxStorageBuffersPerShaderStage),
    },
  });
  return { device, adapter: summary, features: [...adapter.features] };
}
