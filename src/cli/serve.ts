// alexnet serve --weights W: the HTTP service (src/server/app.ts) with graceful SIGTERM/SIGINT shutdown.
import path from 'node:path';
import type { Command } from 'commander';
import { BACKENDS, choice, int, PRECISION_CHOICES, PRECISION_HELP } from './cli-opts.ts';
import { checkWeights } from './errors.ts';
import type { ServerLimits } from '../server/limits.ts';

const FLAGS: Record<keyof ServerLimits, string> = {
  bodyLimit: '--body-limit', maxPixels: '--max-pixels', timeoutMs: '--timeout', maxBatch: '--batch', batchWaitMs: '--batch-wait',
  maxQueue: '--max-queue', maxInflightBytes: '--max-inflight-bytes',
};

interface ServeOptions {
  weights?: string; port: number; host: string; run?: string; threads?: number; backend: string; precision: 'fp32' | 'bf16';
  bodyLimit: number; maxPixels: number; timeout: number; batch: number; batchWait: number; maxQueue: number; maxInflightBytes: number; log?: boolean;
}

const port = (v: string): number => {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || n > 65535) throw new Error(`--port must be an integer from 0 to 65535 (0 = any free port), got '${v}'`);
  return n;
};

/** EADDRINUSE and friends as one line naming the address. */
function listenError(e: NodeJS.ErrnoException, host: string, p: number): Error {
  if (e.code === 'EADDRINUSE') return new Error(`port ${p} on ${host} is already in use: stop the other server or pick another --port`);
  if (e.code === 'EACCES') return new Error(`not allowed to listen on port ${p} on ${host} (ports below 1024 need privileges): pick another --port`);
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') return new Error(`cannot listen on ${host}: no such local address (--host)`);
  return new Error(`cannot listen on ${host}:${p}: ${e.message}`);
}

export function declare(program: Command): Command {
  return program.command('serve')
    .description('HTTP inference service: POST /v1/classify, POST /v1/embed, GET /v1/model, GET /healthz (+ explorer page).\n'
      + 'Every limit (--body-limit, --max-pixels, --timeout, --batch, --max-queue, --max-inflight-bytes) must be >= 1: '
      + 'a 0 would switch a protection off or refuse every request, so it is refused at start-up.');
}

export async function configure(cmd: Command): Promise<void> {
  // imported here, not at the top, so `alexnet --help` lists the command without loading fastify
  const [{ load }, { buildServer, DEFAULT_LIMITS }, { findDefaultWeights, noWeightsMessage }, { checkLimits }] = await Promise.all([
    import('../api.ts'), import('../server/app.ts'), import('../server/find-weights.ts'), import('../server/limits.ts')]);
  cmd
    .option('--weights <file>', 'weights (safetensors, .pth or ONNX); default: the newest in $ALEXNET_HOME/weights, else the newest runs/*/weights.safetensors')
    .option('--port <n>', 'port (0 = any free port)', port, 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--run <dir>', 'training run directory for the explorer page')
    .option('--threads <n>', 'backend threads', int('--threads'))
    .addOption(choice('--backend <name>', 'compute backend', BACKENDS, 'auto'))
    .addOption(choice('--precision <p>', PRECISION_HELP, PRECISION_CHOICES, 'fp32'))
    .option('--body-limit <bytes>', 'request body limit (413 above)', int('--body-limit', 0), DEFAULT_LIMITS.bodyLimit)
    .option('--max-pixels <n>', 'decoded pixel limit per image (413 above)', int('--max-pixels', 0), DEFAULT_LIMITS.maxPixels)
    .option('--timeout <ms>', 'per-request deadline from the first byte, slow headers and bodies included (503; 408 while receiving)', int('--timeout', 0), DEFAULT_LIMITS.timeoutMs)
    .option('--batch <n>', 'max images per batched forward', int('--batch', 0), DEFAULT_LIMITS.maxBatch)
    .option('--batch-wait <ms>', 'max wait for a batch to fill (0 = no wait)', int('--batch-wait', 0), DEFAULT_LIMITS.batchWaitMs)
    .option('--max-queue <n>', 'queued images beyond which requests get 503', int('--max-queue', 0), DEFAULT_LIMITS.maxQueue)
    .option('--max-inflight-bytes <n>', 'request body bytes held at once by all model requests (503 + Retry-After above)', int('--max-inflight-bytes', 0), DEFAULT_LIMITS.maxInflightBytes)
    .option('--log', 'request logging (pino JSON lines)')
    .action(async (o: ServeOptions) => {
      const limits = {
        bodyLimit: o.bodyLimit, maxPixels: o.maxPixels, timeoutMs: o.timeout, maxBatch: o.batch, batchWaitMs: o.batchWait,
        maxQueue: o.maxQueue, maxInflightBytes: o.maxInflightBytes,
      };
      checkLimits({ ...DEFAULT_LIMITS, ...limits }, FLAGS); // before the model loads: a bad flag fails at once
      if (o.weights) checkWeights(o.weights);
      let weights = o.weights, runDir = o.run;
      if (!weights) {
        const found = findDefaultWeights();
        if (!found) throw new Error(noWeightsMessage());
        weights = found.file;
        if (found.from === 'run') runDir ??= path.dirname(found.file); // its curves on the explorer page too
        console.log(`alexnet serve: no --weights given, serving the newest ${found.from === 'cache' ? 'cached model' : 'training run'}: ${weights}`);
      }
      const api = await load({ weights, backend: o.backend as 'auto', threads: o.threads, precision: o.precision });
      const app = await buildServer({ api, runDir, logger: !!o.log, limits });
      let address: string;
      try {
        address = await app.listen({ port: o.port, host: o.host });
      } catch (e) {
        api.dispose();
        throw listenError(e as NodeJS.ErrnoException, o.host, o.port);
      }
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
