// What the in-process peer benches (forward1-peer.ts, fc1-peer.ts, forward1-convs.ts) share: interleaved timing
// of two callables, and reading onnxruntime's own per-node times from its profile file.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { median } from '../src/util/median.ts';

/** Blocks of `block` calls take turns for `rounds` rounds (the order flips every round; the first call of each
 *  block is dropped: the other framework's threads may still be busy). Times in ms per call, and each round's
 *  ratio of medians (ort / ours: > 1, ours faster). */
export async function interleave(runs: { ours: () => Promise<unknown>; ort: () => Promise<unknown> }, rounds: number, block: number) {
  const times: Record<'ours' | 'ort', number[]> = { ours: [], ort: [] };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const round: Record<'ours' | 'ort', number[]> = { ours: [], ort: [] };
    for (const name of (r % 2 ? ['ort', 'ours'] : ['ours', 'ort']) as ('ours' | 'ort')[]) {
      for (let i = 0; i < block; i++) {
        const t0 = performance.now();
        await runs[name]();
        if (i > 0) round[name].push(performance.now() - t0);
      }
    }
    times.ours.push(...round.ours);
    times.ort.push(...round.ort);
    ratios.push(median(round.ort) / median(round.ours));
  }
  return { times, ratios };
}

/** onnxruntime's per-node kernel times (ms) from the profile it wrote into `dir` (then removed), keeping the
 *  last `calls` of each node (its warm-up runs come first). Keys: "node [OpType]". */
export function ortProfileTimes(dir: string, calls: number): Record<string, number[]> {
  const file = readdirSync(dir).find((f) => f.endsWith('.json'));
  const per: Record<string, number[]> = {};
  if (file) {
    const events = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
    for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) (per[`${e.name.slice(0, -12)} [${e.args?.op_name ?? '?'}]`] ??= []).push(e.dur / 1000);
    for (const v of Object.values(per)) v.splice(0, v.length - calls);
  }
  rmSync(dir, { recursive: true, force: true });
  return per;
}
