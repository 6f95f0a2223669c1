// Which model `alexnet serve` runs when no --weights is given: the newest pulled or converted file in the cache
// (<ALEXNET_HOME>/weights/*.safetensors), else the newest finished training run under the current folder
// (runs/*/weights.safetensors). Nothing found is a one-line error that says how to get a model.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { alexnetHome } from '../util/home.ts';

export interface FoundWeights { file: string; from: 'cache' | 'run' }

/** Newest (by mtime) regular file among candidates; unreadable entries and temp files are skipped. */
function newest(files: string[]): string | undefined {
  let best: string | undefined, bestT = -Infinity;
  for (const f of files) {
    if (/\.tmp-/.test(path.basename(f))) continue;
    try {
      const st = statSync(f);
      if (st.isFile() && st.size > 0 && st.mtimeMs > bestT) { best = f; bestT = st.mtimeMs; }
    } catch { /* dangling link or a file removed meanwhile */ }
  }
  return best;
}

function list(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

export function findDefaultWeights(opts: { home?: string; cwd?: string } = {}): FoundWeights | undefined {
  const home = opts.home ?? alexnetHome();
  const cwd = opts.cwd ?? process.cwd();
  const cacheDir = path.join(home, 'weights');
  const cached = newest(list(cacheDir).filter((f) => f.endsWith('.safetensors')).map((f) => path.join(cacheDir, f)));
  if (cached) return { file: cached, from: 'cache' };
  const runsDir = path.join(cwd, 'runs');
  const run = newest(list(runsDir).map((d) => path.join(runsDir, d, 'weights.safetensors')));
  if (run) return { file: run, from: 'run' };
  return undefined;
}

export function noWeightsMessage(opts: { home?: string; cwd?: string } = {}): string {
  const home = opts.home ?? alexnetHome();
  return `no model to serve: none in ${path.join(home, 'weights')} or ${path.join(opts.cwd ?? process.cwd(), 'runs', '*', 'weights.safetensors')}; `
    + 'get one with `alexnet pull torchvision` (ImageNet weights) or `alexnet train --data DIR --out runs/NAME`, or pass --weights FILE';
}
