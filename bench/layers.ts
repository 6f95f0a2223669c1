// Per-layer time breakdown of the native backend (ALEXNET_PROFILE=1: the worker times every op, keyed by
// "op inputShape"), for one training step at batch 128 and one eval forward at batch 64. Prints markdown.
//   node --import tsx bench/layers.ts [--variant torchvision] [--threads 2]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { variant: { type: 'string', default: 'torchvision' }, threads: { type: 'string', default: '2' } } });

function profile(only: string): { prof: Record<string, [number, number]>; steps: number } {
  // steps=1 plus one warm-up: the profile covers 2 calls; divide by the call count
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/measure.ts', '--variant', values.variant!, '--threads', values.threads!, '--steps', '1', '--only', only],
    { encoding: 'utf8', env: { ...process.env, ALEXNET_PROFILE: '1' }, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { profile: Record<string, [number, number]> };
  return { prof: out.profile, steps: 2 };
}

for (const [title, only] of [['training step, batch 128', 'train'], ['eval forward, batch 64', 'forward64']] as const) {
  const { prof } = profile(only);
  const rows = Object.entries(prof).filter(([k]) => !k.startsWith('mem.'));
  // the first call includes primitive creation and first-touch page faults: report the mean of both calls
  const total = rows.reduce((s, [, v]) => s + v[0], 0);
  console.log(`\n### ${title} (${values.variant}, ${values.threads} threads)\n`);
  console.log('| op (input shape) | calls/step | ms/step | share |');
  console.log('|---|---:|---:|---:|');
  for (const [k, v] of rows.sort((a, b) => b[1][0] - a[1][0])) {
    console.log(`| ${k} | ${v[1] / 2} | ${(v[0] / 2 * 1000).toFixed(1)} | ${(100 * v[0] / total).toFixed(1)}% |`);
  }
  console.log(`| **total on the worker** | | **${(total / 2 * 1000).toFixed(0)}** | |`);
  if (prof['mem.peakLiveMiB']) console.log(`\npeak live tensor memory ${prof['mem.peakLiveMiB'][0].toFixed(0)} MiB (with the buffer pool ${prof['mem.peakLivePlusPoolMiB'][0].toFixed(0)} MiB)`);
}
