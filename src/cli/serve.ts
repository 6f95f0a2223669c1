// alexnet serve --weights W: the HTTP service (src/server/app.ts) with graceful SIGTERM/SIGINT shutdown.
import type { Command } from 'commander';
import { BACKENDS, choice } from './cli-opts.ts';
import { checkFile } from './errors.ts';

interface ServeOptions {
  weights: string; port: string; host: string; run?: string; threads?: string; backend: string;
  bodyLimit: string; maxPixels: string; timeout: string; batch: string; batchWait: string; maxQueue: string; log?: boolean;
}

const posInt = (v: string, flag: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got ${v}`);
  return n;
};

export function declare(program: Command): Command {
  return program.command('serve')
    .description('HTTP inference service: POST /v1/classify, POST /v1/embed, GET /v1/model, GET /healthz (+ explorer page)');
}

export async function configure(cmd: Command): Promise<void> {
  // imported here, not at the top, so `alexnet --help` lists the command without loading fastify
  const [{ load }, { buildServer, DEFAULT_LIMITS }] = await Promise.all([import('../api.ts'), import('../server/app.ts')]);
  cmd
    .requiredOption('--weights <file>', 'weights (safetensors, .pth or ONNX)')
    .option('--port <n>', 'port (0 = any free port)', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--run <dir>', 'training run directory for the explorer page')
    .option('--threads <n>', 'backend threads')
    .addOption(choice('--backend <name>', 'compute backend', BACKENDS, 'auto'))
    .option('--body-limit <bytes>', 'request body limit', String(DEFAULT_LIMITS.bodyLimit))
    .option('--max-pixels <n>', 'decoded pixel limit per image', String(DEFAULT_LIMITS.maxPixels))
    .option('--timeout <ms>', 'per-request timeout', String(DEFAULT_LIMITS.timeoutMs))
    .option('--batch <n>', 'max images per batched forward', String(DEFAULT_LIMITS.maxBatch))
    .option('--batch-wait <ms>', 'max wait for a batch to fill', String(DEFAULT_LIMITS.batchWaitMs))
    .option('--max-queue <n>', 'queued images beyond which requests get 503', String(DEFAULT_LIMITS.maxQueue))
    .option('--log', 'request logging (pino JSON lines)')
    .action(async (o: ServeOptions) => {
      const port = posInt(o.port, '--port');
      if (port > 65535) throw new Error(`--port must be 0..65535, got ${o.port}`);
      checkFile(o.weights, 'weights file');
      const api = await load({ weights: o.weights, backend: o.backend as 'auto', threads: o.threads ? posInt(o.threads, '--threads') : undefined });
      const app = await buildServer({
        api, runDir: o.run, logger: !!o.log,
        limits: {
          bodyLimit: posInt(o.bodyLimit, '--body-limit'), maxPixels: posInt(o.maxPixels, '--max-pixels'), timeoutMs: posInt(o.timeout, '--timeout'),
          maxBatch: Math.max(1, posInt(o.batch, '--batch')), batchWaitMs: posInt(o.batchWait, '--batch-wait'), maxQueue: posInt(o.maxQueue, '--max-queue'),
        },
      });
      const address = await app.listen({ port, host: o.host }).catch(async (e: unknown) => { await app.close(); api.dispose(); throw e; });
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
