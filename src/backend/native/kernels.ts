// The per-machine kernel cache. In ALEXNET_CONV=auto mode the addon times our own kernel against oneDNN's the
// first time it meets an (op, shape, layout, threads) instance and keeps the faster (addon/src/cpu.h). Those
// decisions are saved here, one JSON file per CPU model and ISA in force (the keys carry the thread count):
//   <ALEXNET_HOME>/kernels/<cpu model>-<own isa>-<oneDNN isa>.json
// and loaded before the first op of a later run, which then times nothing and repeats the same choices (so a
// training run resumed in a new process computes exactly as before). A file from another oneDNN version is
// ignored; a damaged one is reported in one line and ignored (it is a cache: the next save rewrites it).
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { writeAtomicSync } from '../../util/atomic-write.ts';
import { alexnetHome } from '../../util/home.ts';
import type { CpuInfo, KernelDecision, NativeAddon } from './addon.ts';

export interface KernelCacheFile {
  version: 1;
  cpu: string;
  isaUsed: string;
  dnnlIsa: string;
  dnnlVersion: string;
  decisions: KernelDecision[];
}

/** The CPU's model string, e.g. "AMD EPYC 9B45 128-Core Processor". */
export const cpuModel = (): string => cpus()[0]?.model?.trim() || `unknown ${process.arch} cpu`;

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'cpu';

export function kernelCacheFile(info: Pick<CpuInfo, 'isaUsed' | 'dnnlIsa'>, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(alexnetHome(env), 'kernels', `${slug(cpuModel())}-${info.isaUsed}-${info.dnnlIsa}.json`);
}

/** The decisions in `file` that apply to this addon; [] when there is no file or it does not apply. */
export function readKernelCache(file: string, info: CpuInfo, warn: (msg: string) => void = () => {}): KernelDecision[] {
  if (!existsSync(file)) return [];
  let doc: Partial<KernelCacheFile>;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<KernelCacheFile>;
  } catch (err) {
    warn(`kernel cache ${file} is unreadable (${(err as Error).message.split('\n')[0]}); timing kernels again`);
    return [];
  }
  const ok = (d: unknown): d is KernelDecision => {
    const k = d as KernelDecision;
    return typeof k?.key === 'string' && (k.choice === 'own' || k.choice === 'dnnl') && typeof k.ownMs === 'number' && typeof k.dnnlMs === 'number' &&
      (k.kernel === undefined || typeof k.kernel === 'string');
  };
  if (doc?.version !== 1 || !Array.isArray(doc.decisions) || !doc.decisions.every(ok)) {
    warn(`kernel cache ${file} is malformed (expected version 1 and a decisions list); timing kernels again`);
    return [];
  }
  if (doc.dnnlVersion !== info.dnnlVersion) return [];  // made with another oneDNN: its timings say nothing now
  return doc.decisions;
}

/** Loads the machine's cached decisions into the addon (once per process) and saves new ones when asked. */
export class KernelCache {
  readonly file: string;
  private saved: number;

  constructor(private readonly addon: NativeAddon, private readonly warn: (msg: string) => void) {
    const info = addon.cpuInfo();
    this.file = kernelCacheFile(info);
    if (info.conv === 'auto') addon.setKernelDecisions(readKernelCache(this.file, info, warn));
    this.saved = addon.kernelTimings();
  }

  /** Writes the file when this process timed something since the last save (cheap otherwise). */
  save(): void {
    const n = this.addon.kernelTimings();
    if (n === this.saved) return;
    this.saved = n;
    const info = this.addon.cpuInfo();
    // another process may have added instances meanwhile: keep theirs, ours win on the same key
    const merged = new Map(readKernelCache(this.file, info).map((d) => [d.key, d]));
    for (const d of this.addon.kernelDecisions()) merged.set(d.key, d);
    const doc: KernelCacheFile = {
      version: 1, cpu: cpuModel(), isaUsed: info.isaUsed, dnnlIsa: info.dnnlIsa, dnnlVersion: info.dnnlVersion,
      decisions: [...merged.values()].sort((a, b) => a.key.localeCompare(b.key)),
    };
    try {
      writeAtomicSync(this.file, new TextEncoder().encode(`${JSON.stringify(doc, null, 1)}\n`));
    } catch (err) {
      this.warn(`kernel cache ${this.file} not saved: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

let shared: KernelCache | undefined;
/** The process's one cache (every native backend of the process shares the addon's decision table). */
export function kernelCache(addon: NativeAddon): KernelCache {
  return shared ??= new KernelCache(addon, (m) => { if (process.env.ALEXNET_QUIET !== '1') console.warn(`[alexnet] ${m}`); });
}

/** One decision split into its parts, for printing: op, shapes and attributes, layouts, threads. */
export function describeDecision(d: KernelDecision): { op: string; shape: string; layout: string; threads: number; choice: string; ownMs: number; dnnlMs: number } {
  // op | x dims | w dims | attrs | layouts | t<threads>: the shape part has '|' inside, so take the ends
  const parts = d.key.split('|');
  const op = parts[0] ?? '', t = parts.length > 2 ? parts[parts.length - 1] : '', layout = parts.length > 3 ? parts[parts.length - 2] : '';
  const shape = parts.slice(1, Math.max(1, parts.length - 2)).join('|');
  return { op, shape, layout, threads: Number(t.replace(/^t/, '')), choice: d.choice, ownMs: d.ownMs, dnnlMs: d.dnnlMs };
}
