// The HTTP service (fastify): classify / embed with dynamic batching, model info, health.
//   POST /v1/classify[?top=K]  raw image body (any content type) or multipart (first file) -> {predictions}
//   POST /v1/embed             same input -> {embedding: number[], dim}
//   GET  /v1/model             variant, classes, class names, input size, preprocessing
//   GET  /healthz              status, uptime, batching counters
// Errors are JSON {error}: bad image 400, body or pixel count over the limit 413, timeout or full queue 503, unknown route 404.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { AlexNetClassifier } from '../api.ts';
import { prepareInput, DEFAULT_PIXEL_LIMIT } from '../data/preprocess.ts';
import type { Model, WeightsMeta } from '../model/types.ts';
import { Batcher } from './batcher.ts';

export interface ServerLimits {
  /** Request body bytes (raw or multipart file). Default 10 MB. */
  bodyLimit: number;
  /** Decoded pixels per image (decompression bombs). Default 40 megapixels. */
  maxPixels: number;
  /** Per-request deadline (receiving, decoding, waiting for and running the forward). Default 30 s. */
  timeoutMs: number;
  /** Dynamic batching: at most maxBatch images per forward, waiting at most batchWaitMs for company. */
  maxBatch: number;
  batchWaitMs: number;
  /** Images waiting for a forward beyond which new requests get 503 (bounded memory under overload). */
  maxQueue: number;
}
export const DEFAULT_LIMITS: ServerLimits = { bodyLimit: 10 * 1024 * 1024, maxPixels: 40_000_000, timeoutMs: 30_000, maxBatch: 16, batchWaitMs: 5, maxQueue: 256 };

export interface BuildServerOptions {
  api: AlexNetClassifier;
  meta?: WeightsMeta;
  runDir?: string;
  limits?: Partial<ServerLimits>;
  logger?: boolean;
  /** Mount the explorer page (src/server/web.ts) when present. Default true. */
  web?: boolean;
}

export type AlexNetServer = FastifyInstance & { batcher: Batcher; limits: ServerLimits; shutdown(): Promise<void> };

class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) { super(message); }
}

export async function buildServer(opts: BuildServerOptions): Promise<AlexNetServer> {
  const { api } = opts;
  const meta = opts.meta ?? api.meta;
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (limits.maxPixels > DEFAULT_PIXEL_LIMIT) limits.maxPixels = DEFAULT_PIXEL_LIMIT;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: limits.bodyLimit, requestTimeout: limits.timeoutMs, return503OnClosing: true }) as unknown as AlexNetServer;
  const batcher = new Batcher((xs, embedding) => api.inferBatch(xs, { embedding }), { maxBatch: limits.maxBatch, maxWaitMs: limits.batchWaitMs });
  app.decorate('batcher', batcher);
  app.decorate('limits', limits);
  const started = Date.now();
  let inflight = 0;

  app.setNotFoundHandler((req, reply) => { reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }); });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    let status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    let msg = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.code === 'FST_REQ_FILE_TOO_LARGE') {
      status = 413; msg = `request body too large (limit ${limits.bodyLimit} bytes)`;
    }
    if (status >= 500) app.log.error(err);
    reply.code(status).send({ error: msg });
  });

  await app.register(async (v1) => {
    v1.removeContentTypeParser(['application/json', 'text/plain']);
    v1.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.bodyLimit }, (_req, body, done) => done(null, body));
    await v1.register(multipart, { limits: { fileSize: limits.bodyLimit, files: 1, fields: 10 }, throwFileSizeLimit: true });

    const handle = (embedding: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
      const top = embedding ? 0 : parseTop((req.query as Record<string, string>).top, meta.classes);
      inflight++;
      const ac = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      try {
        const work = (async () => {
          const bytes = await readImageBody(req);
          const x = await prepareInput(bytes, meta.preprocessing, { limitInputPixels: limits.maxPixels, name: 'request body' }).catch((e: Error) => {
            throw new HttpError(/pixel limit/.test(e.message) ? 413 : 400, e.message);
          });
          if (batcher.pending >= limits.maxQueue) throw new HttpError(503, `server busy: ${batcher.pending} images already queued (limit ${limits.maxQueue}); retry later`);
          return batcher.submit(x, embedding, ac.signal);
        })();
        const timeout = new Promise<never>((_, rej) => { timer = setTimeout(() => { ac.abort(); rej(new HttpError(503, `request timed out after ${limits.timeoutMs} ms`)); }, limits.timeoutMs); });
        const y = await Promise.race([work, timeout]);
        work.catch(() => {}); // a late failure after the timeout must not go unhandled
        if (embedding) return { embedding: Array.from(y), dim: y.length };
        return { predictions: api.topk(y, top) };
      } finally {
        clearTimeout(timer);
        inflight--;
      }
    };
    v1.post('/v1/classify', handle(false));
    v1.post('/v1/embed', handle(true));
  });

  app.get('/v1/model', async () => ({
    variant: meta.variant, classes: meta.classes, classNames: meta.classNames, inputSize: meta.preprocessing.crop,
    preprocessing: meta.preprocessing, widthScale: meta.widthScale ?? 1, hidden: meta.hidden ?? 4096,
    paramCount: api.model.paramCount, backend: api.model.backend.name,
    batching: { maxBatch: limits.maxBatch, maxWaitMs: limits.batchWaitMs },
  }));
  app.get('/healthz', async () => ({ status: 'ok', uptimeS: Math.round((Date.now() - started) / 1000), inflight, queued: batcher.pending, ...batcher.stats }));

  if (opts.web !== false) await mountWeb(app, api, meta, opts.runDir);

  let closing = false;
  app.addHook('onSend', async (_req, reply) => { if (closing) reply.header('connection', 'close'); });
  app.decorate('shutdown', async () => {
    closing = true;
    const done = app.close(); // stops accepting, waits for in-flight requests
    // keep-alive sockets that finish their request after close() began would otherwise idle until keepAliveTimeout
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    try { await done; } finally { clearInterval(sweep); }
    await batcher.drain();
  });
  return app;
}

async function readImageBody(req: FastifyRequest): Promise<Buffer> {
  if (req.isMultipart()) {
    const file = await req.file();
    if (!file) throw new HttpError(400, 'multipart request has no file part');
    return file.toBuffer();
  }
  const body = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, 'empty body: send the image bytes (or multipart/form-data with one file)');
  return body;
}

function parseTop(v: string | undefined, classes: number): number {
  if (v === undefined) return Math.min(5, classes);
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1) throw new HttpError(400, `top must be a positive integer, got ${JSON.stringify(v)}`);
  return Math.min(k, classes);
}

/** The WEB engineer's explorer (src/server/web.ts), loaded only when present. Its model calls go
 *  through api.exclusive so they never interleave with a batched forward. */
async function mountWeb(app: FastifyInstance, api: AlexNetClassifier, meta: WeightsMeta, runDir?: string): Promise<void> {
  // './web.ts' from sources, './web.js' in the compiled dist/ (the import below is rewritten by tsc; this URL is not).
  if (!existsSync(fileURLToPath(new URL(import.meta.url.endsWith('.js') ? './web.js' : './web.ts', import.meta.url)))) return;
  const { registerWebRoutes } = (await import('./web.ts')) as { registerWebRoutes: (a: FastifyInstance, c: { model: Model; meta: WeightsMeta; runDir?: string }) => Promise<void> };
  const serial = new Set(['forward', 'embed', 'activations', 'stateDict', 'lossAndGrads', 'getArenas']);
  const model = new Proxy(api.model, {
    get(t, p, r) {
      const v = Reflect.get(t, p, r);
      if (typeof v !== 'function') return v;
      if (p === 'dispose') return () => {}; // the server owns the model
      if (typeof p === 'string' && serial.has(p)) return (...a: unknown[]) => api.exclusive(() => (v as (...x: unknown[]) => Promise<unknown>).apply(t, a));
      return (v as (...x: unknown[]) => unknown).bind(t);
    },
  });
  await registerWebRoutes(app, { model, meta, runDir });
}
