// `load()` + first `classify` of full-size torchvision weights: load time, first classify time and peak RSS
// (the inference targets in docs/performance.md). Run each measurement in a fresh process:
//   node --import tsx bench/inference-load.ts --make /tmp/tv.safetensors      # createModel + saveWeights once
//   /usr/bin/time -v node --import tsx bench/inference-load.ts --weights /tmp/tv.safetensors [--backend native]
// --eager: the previous path for comparison (loadWeights reads the file into JS, then load() copies it in).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values: a } = parseArgs({
  options: { make: { type: 'string' }, weights: { type: 'string' }, backend: { type: 'string', default: 'native' }, image: { type: 'string' }, eager: { type: 'boolean', default: false } },
});

if (a.make) {
  const { createModel } = await import('../src/model/index.ts');
  const { saveWeights } = await import('../src/io/weights.ts');
  const { defaultPreprocessing } = await import('../src/data/preprocess.ts');
  const m = await createModel({ variant: 'torchvision', backend: 'native', seed: 1 });
  await saveWeights(a.make, await m.stateDict(), {
    variant: 'torchvision', classes: 1000, classNames: Array.from({ length: 1000 }, (_, i) => `class_${i}`), preprocessing: defaultPreprocessing('torchvision'),
  });
  m.dispose();
  console.log(`wrote ${a.make}`);
} else {
  if (!a.weights) throw new Error('--weights FILE (or --make FILE) is required');
  const image = a.image ?? fileURLToPath(new URL('../../shared/data/samples/dog.jpg', import.meta.url));
  const { load } = await import('../src/api.ts');
  const t0 = performance.now();
  const weights = a.eager ? await (await import('../src/io/weights.ts')).loadWeights(a.weights) : a.weights;
  const clf = await load({ weights, backend: a.backend as 'native' });
  const t1 = performance.now();
  const top = await clf.classify(image, 3);
  const t2 = performance.now();
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(`load ${((t1 - t0) / 1000).toFixed(3)} s, first classify ${((t2 - t1) / 1000).toFixed(3)} s, peak RSS ${rss.toFixed(0)} MiB (${top[0].className})`);
  clf.dispose();
}
