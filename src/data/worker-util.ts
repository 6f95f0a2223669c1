// Worker threads whose entry is a sibling module, from sources or from the compiled dist/.
// Callers name the TypeScript entry (new URL('./x.ts', import.meta.url)). Compiled (this file is .js), the
// worker runs the emitted .js under plain node. From sources, Node 20 ignores `--import tsx` for a worker's
// own .ts entry, so the worker starts from a tiny ESM bootstrap that registers tsx's loader, then imports it.
import { Worker, type WorkerOptions } from 'node:worker_threads';

const compiled = import.meta.url.endsWith('.js');
let apiUrl: string | undefined;

export function moduleWorker(entry: URL, opts: WorkerOptions = {}): Worker {
  if (compiled) return new Worker(new URL(entry.href.replace(/\.ts$/, '.js')), opts);
  apiUrl ??= import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(apiUrl)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), opts);
}
