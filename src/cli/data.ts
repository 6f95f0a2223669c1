// alexnet data: inspect image folders. `stats` computes the colour statistics used for mean
// subtraction and the paper's PCA lighting; `check` decodes everything and lists bad files.
import type { Command } from 'commander';
import { int } from './cli-opts.ts';
import { checkDir, checkFile } from './errors.ts';
import { writeAtomicSync } from '../util/atomic-write.ts';
import { registerPack } from './data-pack.ts';

interface Common { side: number; limitPerClass?: number; cacheDir?: string; labels?: string }

// The data modules are imported when a command runs, not at the top: `alexnet --help` starts without sharp.
async function cached(dir: string, o: Common) {
  const [{ loadOrBuildCache }, { scanImageFolder }, { makeProgress }, { DEFAULT_CACHE_DIR }] = await Promise.all([
    import('../data/cache.ts'), import('../data/folder.ts'), import('../train/progress.ts'), import('../train/setup.ts'),
  ]);
  checkDir(dir, 'image folder');
  if (o.labels) checkFile(o.labels, 'labels file');
  const ds = scanImageFolder(dir, { limitPerClass: o.limitPerClass, labels: o.labels });
  const progress = makeProgress();
  let started = false;
  const t0 = Date.now();
  const c = await loadOrBuildCache(ds, o.side, {
    dir: o.cacheDir ?? DEFAULT_CACHE_DIR, name: 'data',
    onProgress: (d, n) => {
      if (!started) { progress.start(n, `decoding (${o.side}px)`); started = true; }
      progress.update(d, { ips: (d / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(0) });
    },
  });
  if (started) progress.stop();
  return { ds, c };
}

const f4 = (v: number[]) => `[${v.map((x) => x.toFixed(4)).join(', ')}]`;

export function declare(program: Command): Command {
  return program.command('data').description('image folder tools: stats (mean + PCA for lighting), check (find bad files), pack (shards)');
}

export function configure(data: Command): void {
  registerPack(data);
  data
    .command('stats')
    .description('per-channel mean/std and the RGB covariance eigen decomposition (0..1 pixels), saved as JSON')
    .argument('<dir>', 'image folder (root/<class>/*.jpg)')
    .option('--out <file>', 'where to write the JSON', 'stats.json')
    .option('--side <s>', 'images are measured at this square size (shorter side + centre crop)', int('--side'), 256)
    .option('--limit-per-class <n>', 'only the first N images of each class', int('--limit-per-class'))
    .option('--cache-dir <dir>', 'preprocessing cache (default .cache/alexnet)')
    .action(async (dir: string, o: Common & { out: string }) => {
      const { ds, c } = await cached(dir, o);
      const [{ badFilesWarning }, { computeStats }] = await Promise.all([import('../data/cache.ts'), import('../data/stats.ts')]);
      const w = badFilesWarning(dir, c.bad);
      if (w) console.error(w);
      if (c.n === 0) throw new Error(`${dir}: no readable images`);
      const s = computeStats(c);
      writeAtomicSync(o.out, Buffer.from(JSON.stringify({ source: ds.root, ...s, skipped: c.bad.length }, null, 2) + '\n', 'utf8'));
      console.log(`${c.n} images (${ds.classes.length} classes) at ${o.side}px${c.bad.length ? `, ${c.bad.length} unreadable skipped` : ''}`);
      console.log(`mean   ${f4(s.mean)}   (ImageNet [0.485, 0.456, 0.406])`);
      console.log(`std    ${f4(s.std)}   (ImageNet [0.229, 0.224, 0.225])`);
      console.log(`eigval ${f4(s.eigval)}   (ImageNet [0.2175, 0.0188, 0.0045])`);
      console.log(`eigvec ${s.eigvec.map(f4).join(' ')}   (rows = R, G, B; columns = components)`);
      console.log(`wrote ${o.out}`);
    });
  data
    .command('check')
    .description('decode every image once (filling the cache) and list unreadable files and class counts')
    .argument('<dir>', 'image folder (root/<class>/*.jpg)')
    .option('--side <s>', 'cache square size', int('--side'), 256)
    .option('--labels <file>', 'synset list for readable class names')
    .option('--limit-per-class <n>', 'only the first N images of each class', int('--limit-per-class'))
    .option('--cache-dir <dir>', 'preprocessing cache (default .cache/alexnet)')
    .action(async (dir: string, o: Common) => {
      const { ds, c } = await cached(dir, o);
      const counts = new Array(ds.classes.length).fill(0);
      for (const l of c.labels) counts[l]++;
      ds.classes.forEach((cls, i) => console.log(`${String(counts[i]).padStart(6)}  ${cls}${ds.classNames[i] !== cls ? `  ${ds.classNames[i]}` : ''}`));
      console.log(`${c.n} readable images in ${ds.classes.length} classes${c.bad.length ? `; ${c.bad.length} unreadable:` : '; no unreadable files'}`);
      for (const b of c.bad) console.log(`  ${b.path}: ${b.reason}`);
      if (c.bad.length) process.exitCode = 2;
    });
}
