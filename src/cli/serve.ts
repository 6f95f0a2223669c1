// alexnet serve --weights W: the HTTP service (src/server/app.ts) with graceful SIGTERM/SIGINT shutdown.
import type { Command } from 'commander';
import { load } from '../api.ts';
import { buildServer, DEFAULT_LIMITS } from '../server/app.ts';
import { BACKEND_CHOICES, isBackendName } from '../backend/index.ts';

interface ServeOptions {
  weights: string; port: string; host: string; run?: string; threads?: string; backend: string;
  bodyLimit: string; maxPixels: string; timeout: string; batch: string; batchWait: string; maxQueue: string; log?: boolean;
}

const posInt = (v: string, flag: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got ${v}`);
  return n;
};

export function register(program: Command): void {
  program
    .command('serve')
    .description('HTTP inference service: POST /v1/classify, POST /v1/embed, GET /v1/model, GET /healthz (+ explorer page)')
    .requiredOption('--weights <file>', 'weights (safetensors, .pth or ONNX)')
    .option('--port <n>', 'port (0 = any free port)', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--run <dir>', 'training run directory for the explorer page')
    .option('--threads <n>', 'backend threads')
    .option('--backend <name>', BACKEND_CHOICES.join(' | '), 'auto')
    .option('--body-limit <bytes>', 'request body limit', String(DEFAULT_LIMITS.bodyLimit))
    .option('--max-pixels <n>', 'decoded pixel limit per image', String(DEFAULT_LIMITS.maxPixels))
    .option('--timeout <ms>', 'per-request timeout', String(DEFAULT_LIMITS.timeoutMs))
    .option('--batch <n>', 'max images per batched forward', String(DEFAULT_LIMITS.maxBatch))
    .option('--batch-wait <ms>', 'max wait for a batch to fill', String(DEFAULT_LIMITS.batchWaitMs))
    .option('--max-queue <n>', 'queued images beyond which requests get 503', String(DEFAULT_LIMITS.maxQueue))
    .option('--log', 'request logging (pino JSON lines)')
    .action(async (o: ServeOptions) => {
      if (!isBackendName(o.backend)) throw new Error(`--backend must be ${BACKEND_CHOICES.join(', ')}, got ${o.backend}`);
      const api = await load({ weights: o.weights, backend: o.backend, threads: o.threads ? posInt(o.threads, '--threads') : undefined });
      const app = await buildServer({
        api, runDir: o.run, logger: !!o.log,
        limits: {
          bodyLimit: posInt(o.bodyLimit, '--body-limit'), maxPixels: posInt(o.maxPixels, '--max-pixels'), timeoutMs: posInt(o.timeout, '--timeout'),
          maxBatch: Math.max(1, posInt(o.batch, '--batch')), batchWaitMs: posInt(o.batchWait, '--batch-wait'), maxQueue: posInt(o.maxQueue, '--max-queue'),
        },
      });
      const address = await app.listen({ port: posInt(o.port, '--port'), host: o.host });
      const m = api.meta;
      console.log(`alexnet serve: ${m.variant} AlexNet, ${m.classes} classes, input ${m.preprocessing.crop}, backend ${api.model.backend.name}; listening on ${address}`);
      let stopping = false;
      const stop = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`alexnet serve: ${sig}: finishing in-flight requests`);
        const t0 = Date.now();
        await app.shutdown();
        api.dispose();
        console.log(`alexnet serve: stopped after ${Date.now() - t0} ms (${app.batcher.stats.items} images in ${app.batcher.stats.forwards} forwards served)`);
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}
