// Worker threads that load TypeScript. Node 20 ignores `--import tsx` for a worker's own .ts entry,
// so the worker starts from a tiny ESM bootstrap that registers tsx's loader, then imports the entry.
import { Worker, type WorkerOptions } from 'node:worker_threads';

let apiUrl: string | undefined;

export function tsWorker(url: URL, opts: WorkerOptions = {}): Worker {
  apiUrl ??= import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(apiUrl)}; register(); await import(${JSON.stringify(url.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), opts);
}
