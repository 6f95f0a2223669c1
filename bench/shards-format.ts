// Shard format choice: packs the same photos as JPEG shards and as raw uint8 shards, then measures
// on ONE thread (per-core figures) what a training worker does per image: decode the record (JPEG)
// or take it as is (raw), then write the augmented float crop. Prints bytes/image and images/s.
//   node --import tsx bench/shards-format.ts [--dir IMAGEFOLDER] [--per-class 50] [--side 256] [--crop 224]
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { packFolder } from '../src/data/pack.ts';
import { loadImage, writeInput, defaultPreprocessing } from '../src/data/preprocess.ts';
import { parseShard, type ShardIndex } from '../src/data/shards.ts';
import { sampleAug } from '../src/data/augment.ts';

const { values: a } = parseArgs({ options: { dir: { type: 'string' }, 'per-class': { type: 'string', default: '50' }, side: { type: 'string', default: '256' }, crop: { type: 'string', default: '224' } } });
const src = a.dir ?? path.resolve(import.meta.dirname, '../../shared/data/imagenette/train');
const side = Number(a.side), perClass = Number(a['per-class']);
const pp = { ...defaultPreprocessing('torchvision', Number(a.crop)), resize: side };
sharp.concurrency(1);

const out = path.join(os.tmpdir(), `alexnet-shard-format-${process.pid}`);
const results: Record<string, unknown>[] = [];
try {
  for (const format of ['jpeg', 'raw'] as const) {
    const t0 = performance.now();
    const idx: ShardIndex = await packFolder(src, path.join(out, format), { side, format, limitPerClass: perClass, shardSize: 100, workers: 2 });
    const packS = (performance.now() - t0) / 1000;
    const bytes = idx.shards.reduce((s, x) => s + x.bytes, 0);
    const recs = idx.shards.flatMap((s) => parseShard(readFileSync(path.join(out, format, s.file)), s, s.file));
    const x = new Float32Array(3 * pp.crop * pp.crop);
    const run = async (decodeOnly: boolean) => {
      const t = performance.now();
      for (let i = 0; i < recs.length; i++) {
        const img = format === 'jpeg' ? await loadImage(Buffer.from(recs[i].data)) : { data: recs[i].data, width: side, height: side, channels: 3 };
        if (decodeOnly) continue;
        const p = sampleAug(0, 0, i, side, pp.crop, undefined);
        writeInput(x, 0, img, pp, { crop: { x: p.x, y: p.y }, flip: p.flip, shift: p.shift });
      }
      return recs.length / ((performance.now() - t) / 1000);
    };
    await run(true); // warm-up
    const decode = await run(true), sample = await run(false);
    results.push({ format, images: idx.images, skipped: idx.skipped.count, bytesPerImage: Math.round(bytes / idx.images), packImgPerS2Workers: Math.round(idx.images / packS), decodeImgPerSPerCore: format === 'raw' ? 'none needed' : Math.round(decode), decodePlusCropImgPerSPerCore: Math.round(sample), imagenetTrainGB: +((bytes / idx.images) * 1281167 / 1e9).toFixed(1) });
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(`side ${side}, crop ${pp.crop}, ${os.cpus()[0].model}, ${os.availableParallelism()} cores (noisy, shared machine)`);
console.table(results);
console.log(JSON.stringify(results));
