// alexnet data pack: an ImageFolder -> tar shards + index.json for streaming training (`train --data SHARDS`).
import type { Command } from 'commander';
import { formatBytes } from '../util/atomic-write.ts';
import { int, choice } from './cli-opts.ts';

export function registerPack(data: Command): void {
  data
    .command('pack')
    .description('write an image folder as shuffled tar shards (resized JPEGs or raw pixels) plus index.json, for `train --data SHARDS`')
    .argument('<dir>', 'image folder (root/<class>/*.jpg)')
    .requiredOption('--out <dir>', 'folder for the shards and index.json')
    .option('--side <s>', 'images are stored as side x side squares (shorter side + centre crop)', int('--side'), 256)
    .option('--shard-size <n>', 'images per shard', int('--shard-size'), 1000)
    .addOption(choice('--format <f>', 'jpeg (small, decoded while training) | raw (uint8, ~8x larger, no decode)', ['jpeg', 'raw'], 'jpeg'))
    .option('--quality <q>', 'JPEG quality', int('--quality'), 90)
    .option('--labels <file>', 'synset list for readable class names')
    .option('--limit-per-class <n>', 'only the first N images of each class', int('--limit-per-class'))
    .option('--workers <n>', 'decode worker threads', int('--workers'))
    .action(async (dir: string, o: { out: string; side: number; shardSize: number; format: 'jpeg' | 'raw'; quality: number; labels?: string; limitPerClass?: number; workers?: number }) => {
      // imported here: `alexnet --help` starts without sharp and the decoders
      const [{ packFolder }, { makeProgress }] = await Promise.all([import('../data/pack.ts'), import('../train/progress.ts')]);
      const progress = makeProgress();
      const t0 = Date.now();
      let started = false;
      const idx = await packFolder(dir, o.out, {
        ...o,
        onProgress: (d, n, bad) => {
          if (!started) { progress.start(n, `packing (${o.side}px ${o.format})`); started = true; }
          progress.update(d, { ips: (d / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(0), loss: '-', lr: bad ? `- (${bad} unreadable)` : '-' });
        },
      });
      if (started) progress.stop();
      const bytes = idx.shards.reduce((s, x) => s + x.bytes, 0);
      console.log(`${idx.images} images (${idx.classes.length} classes) in ${idx.shards.length} shards, ${formatBytes(bytes)} (${formatBytes(Math.round(bytes / idx.images))}/image) -> ${o.out}`);
      if (idx.skipped.count) {
        console.error(`warning: skipped ${idx.skipped.count} unreadable image${idx.skipped.count > 1 ? 's' : ''}:`);
        for (const b of idx.skipped.first.slice(0, 5)) console.error(`  ${b.path}: ${b.reason}`);
      }
    });
}
