// Bounded memory of the shard reader: streams one full epoch of synthetic JPEG shards of 2,000 and
// of 50,000 images (each in its own child process, so RSS is the reader's alone) and prints peak RSS,
// the most records held, and images/s, beside what the in-memory cache would hold for the same data.
//   node --import tsx bench/shards-rss.ts [--sizes 2000,50000] [--side 128] [--crop 112] [--workers 2]
//   --train-steps N: instead of the bare reader, a training process (tiny native model) runs N steps on the shards
//   TRACE=1 also prints, every 20 batches: batch, RSS, JS heap, external, ArrayBuffers (MiB) of the reader process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ShardWriter } from '../src/data/pack.ts';
import { defaultPreprocessing } from '../src/data/preprocess.ts';
import { ShardLoader } from '../src/data/shard-stream.ts';
import { INDEX_FILE, type ShardIndex } from '../src/data/shards.ts';
import { formatBytes, writeAtomicSync } from '../src/util/atomic-write.ts';

const { values: a } = parseArgs({ options: {
  sizes: { type: 'string', default: '2000,50000' }, side: { type: 'string', default: '128' }, crop: { type: 'string', default: '112' },
  workers: { type: 'string', default: '2' }, batch: { type: 'string', default: '128' }, child: { type: 'string' },
  'train-steps': { type: 'string' },
} });
const side = Number(a.side), crop = Number(a.crop);

if (a.child && a['train-steps']) {
  // child: N training steps of a tiny model on the shards (the reader inside the trainer), sampling RSS
  const { DEFAULTS } = await import('../src/train/setup.ts');
  const { train } = await import('../src/train/trainer.ts');
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  const t0 = performance.now();
  const steps = Number(a['train-steps']);
  const r = await train({ ...DEFAULTS, data: a.child, variant: 'torchvision', out: path.join(a.child, 'run'), imageSize: crop, epochs: 1000, batch: Number(a.batch),
    widthScale: 0.125, hidden: 64, backend: 'native', threads: 1, workers: Number(a.workers), checkpointMinutes: 1e9 }, { progress: 'quiet', maxSteps: steps });
  clearInterval(timer);
  console.log(JSON.stringify({ trainSteps: steps, peakRssMiB: Math.round(peak / 2 ** 20), imgPerS: Math.round((steps * Number(a.batch)) / ((performance.now() - t0) / 1000)), lastLoss: +r.losses.at(-1)![1].toFixed(3) }));
  process.exit(0);
}

if (a.child) {
  // child: one epoch through the reader, sampling RSS
  const pp = { ...defaultPreprocessing('torchvision', crop), resize: side };
  const L = new ShardLoader(a.child, pp, { batch: Number(a.batch), seed: 1, workers: Number(a.workers) });
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  const t0 = performance.now();
  let imgs = 0;
  for (let k = 0; k < L.stepsPerEpoch; k++) {
    imgs += (await L.get(0, k)).n;
    peak = Math.max(peak, process.memoryUsage().rss);
    if (process.env.TRACE && k % 20 === 0) { const m = process.memoryUsage(); console.error(k, Math.round(m.rss / 2 ** 20), Math.round(m.heapUsed / 2 ** 20), Math.round(m.external / 2 ** 20), Math.round(m.arrayBuffers / 2 ** 20)); }
  }
  const s = (performance.now() - t0) / 1000;
  clearInterval(timer);
  L.close();
  console.log(JSON.stringify({ images: imgs, peakRssMiB: Math.round(peak / 2 ** 20), peakHeld: L.peakHeld, imgPerS: Math.round(imgs / s), decodeImgPerSPerCore: Math.round(L.decodeRate()) }));
  process.exit(0);
}

/** Synthetic shards: `n` records cycling through 100 distinct JPEG photos-like squares. */
async function makeShards(dir: string, n: number): Promise<number> {
  const blobs: Buffer[] = [];
  for (let b = 0; b < 100; b++) {
    const px = Buffer.alloc(side * side * 3);
    let s = b * 2654435761 >>> 0;
    for (let i = 0; i < px.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; px[i] = ((i % (side * 3)) + (s >>> 28) * 4 + b * 37) & 255; }
    blobs.push(await sharp(px, { raw: { width: side, height: side, channels: 3 } }).blur(1).jpeg({ quality: 90 }).toBuffer());
  }
  const w = new ShardWriter(dir, 'jpg');
  const classCounts = new Array(10).fill(0);
  for (let i = 0; i < n; i++) {
    w.add(String(i).padStart(8, '0'), i % 10, blobs[i % 100]);
    classCounts[i % 10]++;
    if (w.open >= 1000) w.close();
  }
  w.close();
  const idx: ShardIndex = { kind: 'alexnet-shards', version: 1, format: 'jpeg', side, quality: 90, classes: classCounts.map((_, c) => `c${c}`), classNames: classCounts.map((_, c) => `c${c}`), images: n, classCounts, skipped: { count: 0, first: [] }, shards: w.done };
  writeAtomicSync(path.join(dir, INDEX_FILE), Buffer.from(JSON.stringify(idx)));
  return w.done.reduce((t, x) => t + x.bytes, 0);
}

const me = fileURLToPath(import.meta.url);
const rows = [];
for (const n of a.sizes!.split(',').map(Number)) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alexnet-shard-rss-'));
  try {
    const bytes = await makeShards(dir, n);
    const out = execFileSync(process.execPath, ['--import', 'tsx', me, '--child', dir, '--side', String(side), '--crop', String(crop), '--workers', a.workers!, '--batch', a.batch!, ...(a['train-steps'] ? ['--train-steps', a['train-steps']] : [])], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    rows.push({ images: n, shardBytes: formatBytes(bytes), inMemoryCacheWouldHold: formatBytes(n * side * side * 3), ...r });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`${a['train-steps'] ? `${a['train-steps']} training steps (tiny native model, 1 kernel thread)` : 'one epoch'}, ${side}px JPEG shards -> ${crop}px crops, batch ${a.batch}, shuffle buffer 2048, ${a.workers} decode workers; ${os.cpus()[0].model}, ${os.availableParallelism()} cores (noisy, shared machine)`);
console.table(rows);
console.log(JSON.stringify(rows));
