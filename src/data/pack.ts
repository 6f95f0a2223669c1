// `alexnet data pack`: an ImageFolder -> a folder of tar shards + index.json (format in shards.ts).
// Files are decoded in worker threads, streamed into shards of `shardSize` images in a seeded
// shuffled order (so each shard mixes the classes), each shard written atomically, the index last:
// a folder with an index is always complete. Unreadable images are skipped and counted.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AtomicFile, cleanStaleTemps, writeAtomicSync } from '../util/atomic-write.ts';
import { scanImageFolder } from './folder.ts';
import type { PackReply, PackRequest } from './pack-worker.ts';
import { epochPermutation, hash32 } from '../util/rng.ts';
import { INDEX_FILE, type ShardFormat, type ShardIndex, type ShardInfo } from './shards.ts';
import { TAR_END, tarHeader, tarPadding } from './tar.ts';
import { moduleWorker } from './worker-util.ts';

export interface PackOptions {
  side?: number;
  shardSize?: number;
  format?: ShardFormat;
  quality?: number;
  labels?: string;
  limitPerClass?: number;
  workers?: number;
  /** Seed of the pack-time shuffle. */
  seed?: number;
  limitInputPixels?: number;
  onProgress?: (done: number, total: number, skipped: number) => void;
}

/** Appends records to numbered shard files, each committed atomically when full (see packFolder). */
export class ShardWriter {
  private f: AtomicFile | null = null;
  private hash = createHash('sha256');
  private count = 0;
  readonly done: ShardInfo[] = [];
  constructor(private readonly dir: string, private readonly ext: string) {}

  private put(b: Uint8Array): void { this.f!.write(b); this.hash.update(b); }

  add(key: string, label: number, data: Uint8Array): void {
    if (!this.f) this.f = new AtomicFile(path.join(this.dir, `shard-${String(this.done.length).padStart(6, '0')}.tar`));
    const cls = Buffer.from(String(label), 'ascii');
    this.put(tarHeader(`${key}.${this.ext}`, data.length)); this.put(data); this.put(tarPadding(data.length));
    this.put(tarHeader(`${key}.cls`, cls.length)); this.put(cls); this.put(tarPadding(cls.length));
    this.count++;
  }

  get open(): number { return this.count; }

  close(): void {
    if (!this.f) return;
    this.put(TAR_END);
    const bytes = this.f.bytesWritten;
    this.f.commit();
    this.done.push({ file: path.basename(this.f.file), count: this.count, bytes, sha256: this.hash.digest('hex') });
    this.f = null; this.hash = createHash('sha256'); this.count = 0;
  }

  abort(): void { this.f?.abort(); this.f = null; }
}

export async function packFolder(src: string, out: string, opts: PackOptions = {}): Promise<ShardIndex> {
  const side = opts.side ?? 256, shardSize = opts.shardSize ?? 1000, format = opts.format ?? 'jpeg', quality = opts.quality ?? 90;
  if (!Number.isInteger(side) || side < 1) throw new Error(`--side ${side}: want a positive integer`);
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new Error(`--shard-size ${shardSize}: want a positive integer`);
  if (!(quality >= 1 && quality <= 100)) throw new Error(`--quality ${quality}: want 1..100`);
  if (existsSync(path.join(out, INDEX_FILE))) throw new Error(`${out} already holds a shard index; choose another --out or remove it`);
  const ds = scanImageFolder(src, { labels: opts.labels, limitPerClass: opts.limitPerClass });
  cleanStaleTemps(out); // a killed pack leaves a temp shard behind
  const n = ds.files.length;
  const perm = epochPermutation(n, hash32(opts.seed ?? 0, 0x5041434b), 0);
  const writer = new ShardWriter(out, format === 'jpeg' ? 'jpg' : 'rgb');
  const classCounts = new Array(ds.classes.length).fill(0);
  const bad: { path: string; reason: string }[] = [];
  let badCount = 0, kept = 0;
  const nWorkers = Math.max(1, Math.min(opts.workers ?? Math.min(4, os.availableParallelism()), n));
  const workers = Array.from({ length: nWorkers }, () => moduleWorker(new URL('./pack-worker.ts', import.meta.url)));
  // results come back out of order; `ready` reorders them so shards follow the shuffled order
  const ready = new Map<number, PackReply>();
  let next = 0, written = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: (typeof workers)[number]) => {
        if (next >= n) return;
        const id = next++;
        w.postMessage({ id, path: ds.files[perm[id]].path, side, format, quality, limitInputPixels: opts.limitInputPixels } satisfies PackRequest);
      };
      const drain = () => {
        for (let r = ready.get(written); r; r = ready.get(written)) {
          ready.delete(written);
          const f = ds.files[perm[written]];
          if (r.ok) {
            writer.add(String(kept++).padStart(8, '0'), f.label, r.data);
            classCounts[f.label]++;
            if (writer.open >= shardSize) writer.close();
          } else {
            badCount++;
            if (bad.length < 20) bad.push({ path: f.path, reason: r.error });
          }
          written++;
          opts.onProgress?.(written, n, badCount);
        }
      };
      for (const w of workers) {
        w.on('error', reject);
        w.on('message', (m: PackReply) => {
          ready.set(m.id, m);
          try { drain(); } catch (e) { reject(e); return; }
          if (written === n) resolve();
          else feed(w);
        });
        for (let k = 0; k < 3; k++) feed(w);
      }
      if (n === 0) resolve();
    });
    writer.close();
  } catch (e) {
    writer.abort();
    throw e;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (kept === 0) throw new Error(`${src}: none of the ${n} images could be decoded`);
  const idx: ShardIndex = {
    kind: 'alexnet-shards', version: 1, format, side, ...(format === 'jpeg' ? { quality } : {}),
    classes: ds.classes, classNames: ds.classNames, images: kept, classCounts,
    skipped: { count: badCount, first: bad }, shards: writer.done,
  };
  writeAtomicSync(path.join(out, INDEX_FILE), Buffer.from(JSON.stringify(idx, null, 1) + '\n'));
  return idx;
}
