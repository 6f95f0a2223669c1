// The HTTP service (fastify): classify / embed with dynamic batching, model info, health.
//   POST /v1/classify[?top=K]  raw image body (any content type) or multipart (first file) -> {predictions}
//   POST /v1/embed             same input -> {embedding: number[], dim}
//   GET  /v1/model             variant, classes, class names, input size, preprocessing
//   GET  /healthz              status, uptime, batching counters
// Errors are JSON {error}: bad image or multipart 400, body, pixel count or part count over the limit 413,
// timeout, full queue or body-byte budget 503 (the busy ones with Retry-After), unknown route 404.
// Limits and their one rule: src/server/limits.ts; the admission control every model route shares: admission.ts.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { AlexNetClassifier } from '../api.ts';
import { prepareInput, DEFAULT_PIXEL_LIMIT } from '../data/preprocess.ts';
import type { Model, WeightsMeta } from '../model/types.ts';
import { Batcher } from './batcher.ts';
import { type ServerLimits, DEFAULT_LIMITS, checkLimits } from './limits.ts';
import { Admission, HttpError, httpTimeouts, replyError } from './admission.ts';

export { type ServerLimits, DEFAULT_LIMITS } from './limits.ts';

export interface BuildServerOptions {
  api: AlexNetClassifier;
  meta?: WeightsMeta;
  runDir?: string;
  limits?: Partial<ServerLimits>;
  logger?: boolean;
  /** Mount the explorer page (src/server/web.ts) when present. Default true. */
  web?: boolean;
}

export type AlexNetServer = FastifyInstance & { batcher: Batcher; admission: Admission; limits: ServerLimits; shutdown(): Promise<void> };

export async function buildServer(opts: BuildServerOptions): Promise<AlexNetServer> {
  const { api } = opts;
  const meta = opts.meta ?? api.meta;
  const limits = checkLimits({ ...DEFAULT_LIMITS, ...opts.limits });
  if (limits.maxPixels > DEFAULT_PIXEL_LIMIT) limits.maxPixels = DEFAULT_PIXEL_LIMIT;
  const { requestTimeout, ...http } = httpTimeouts(limits.timeoutMs);
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: limits.bodyLimit, requestTimeout, http, return503OnClosing: true }) as unknown as AlexNetServer;
  app.server.headersTimeout = http.headersTimeout;
  const batcher = new Batcher((xs, embedding) => api.inferBatch(xs, { embedding }), { maxBatch: limits.maxBatch, maxWaitMs: limits.batchWaitMs });
  const admission = new Admission(limits, () => batcher.pending);
  app.decorate('batcher', batcher);
  app.decorate('admission', admission);
  app.decorate('limits', limits);
  const started = Date.now();
  let inflight = 0;

  app.setNotFoundHandler((req, reply) => { reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }); });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; retryAfterS?: number }, _req, reply) => {
    let status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    let msg = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.code === 'FST_REQ_FILE_TOO_LARGE') {
      status = 413; msg = `request body too large (limit ${limits.bodyLimit} bytes)`;
    }
    if (status >= 500 && status !== 503) app.log.error(err);
    replyError(reply, status, msg, err);
  });

  await app.register(async (v1) => {
    v1.removeContentTypeParser(['application/json', 'text/plain']);
    v1.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.bodyLimit }, (_req, body, done) => done(null, body));
    await v1.register(multipart, { limits: { fileSize: limits.bodyLimit, files: 1, fields: 10 }, throwFileSizeLimit: true });

    const handle = (embedding: boolean) => async (req: FastifyRequest) => {
      const top = embedding ? 0 : parseTop((req.query as Record<string, string>).top, meta.classes);
      inflight++;
      try {
        const y = await admission.within(req, async (signal) => {
          const bytes = await readImageBody(req, limits.bodyLimit);
          const x = await prepareInput(bytes, meta.preprocessing, { limitInputPixels: limits.maxPixels, name: 'request body' }).catch((e: Error) => {
            throw new HttpError(/pixel limit/.test(e.message) ? 413 : 400, e.message);
          });
          admission.checkQueue();
          return batcher.submit(x, embedding, signal);
        });
        if (embedding) return { embedding: Array.from(y), dim: y.length };
        return { predictions: api.topk(y, top) };
      } finally {
        inflight--;
      }
    };
    v1.post('/v1/classify', { onRequest: admission.admit }, handle(false));
    v1.post('/v1/embed', { onRequest: admission.admit }, handle(true));
  });

  app.get('/v1/model', async () => ({
    variant: meta.variant, classes: meta.classes, classNames: meta.classNames, inputSize: meta.preprocessing.crop,
    preprocessing: meta.preprocessing, widthScale: meta.widthScale ?? 1, hidden: meta.hidden ?? 4096,
    paramCount: api.model.paramCount, backend: api.model.backend.name,
    batching: { maxBatch: limits.maxBatch, maxWaitMs: limits.batchWaitMs },
  }));
  app.get('/healthz', async () => ({
    status: 'ok', uptimeS: Math.round((Date.now() - started) / 1000), inflight, queued: admission.queued, inflightBytes: admission.bytes,
    ...batcher.stats, ...admission.stats,
  }));

  if (opts.web !== false) await mountWeb(app, api, meta, admission, opts.runDir);

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

async function readImageBody(req: FastifyRequest, bodyLimit: number): Promise<Buffer> {
  if (req.isMultipart()) {
    const parts = req.parts();
    try {
      for (;;) {
        const { value: part, done } = await parts.next();
        if (done) throw new HttpError(400, 'multipart request has no file part');
        if (part.type !== 'file') continue;
        try { return await part.toBuffer(); } catch (e) {
          // A limit reached in the same chunk as the file destroys the file's stream first ("Premature close");
          // the limit's own error is queued right behind it.
          const queued = await Promise.race([parts.next().then(() => undefined, (x: unknown) => x), new Promise((r) => setTimeout(r, 50).unref())]);
          throw (queued as { code?: string } | undefined)?.code?.endsWith('_LIMIT') ? queued : e;
        }
      }
    } catch (e) { throw multipartError(e as Error & { statusCode?: number; code?: string }, bodyLimit); }
  }
  const body = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, 'empty body: send the image bytes (or multipart/form-data with one file)');
  return body;
}

/** A malformed multipart body is the client's fault (400); one over a count or size limit is 413. */
function multipartError(e: Error & { statusCode?: number; code?: string }, bodyLimit: number): Error {
  if (e instanceof HttpError) return e;
  if (e.code === 'FST_REQ_FILE_TOO_LARGE') return new HttpError(413, `request body too large (limit ${bodyLimit} bytes)`);
  if (e.code === 'FST_PARTS_LIMIT' || e.code === 'FST_FILES_LIMIT' || e.code === 'FST_FIELDS_LIMIT')
    return new HttpError(413, `multipart request has too many ${e.code.slice(4, -6).toLowerCase()} (send one file part)`);
  return new HttpError(400, `bad multipart request: ${e.message.split('\n')[0]}`);
}

function parseTop(v: string | undefined, classes: number): number {
  if (v === undefined) return Math.min(5, classes);
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1) throw new HttpError(400, `top must be a positive integer, got ${JSON.stringify(v)}`);
  return Math.min(k, classes);
}

/** The WEB engineer's explorer (src/server/web.ts), loaded only when present. Its model calls go
 *  through api.exclusive so they never interleave with a batched forward. */
async function mountWeb(app: FastifyInstance, api: AlexNetClassifier, meta: WeightsMeta, admission: Admission, runDir?: string): Promise<void> {
  // './web.ts' from sources, './web.js' in the compiled dist/ (the import below is rewritten by tsc; this URL is not).
  if (!existsSync(fileURLToPath(new URL(import.meta.url.endsWith('.js') ? './web.js' : './web.ts', import.meta.url)))) return;
  const { registerWebRoutes } = (await import('./web.ts')) as { registerWebRoutes: (a: FastifyInstance, c: { model: Model; meta: WeightsMeta; runDir?: string; admission: Admission }) => Promise<void> };
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
  await registerWebRoutes(app, { model, meta, runDir, admission });
}
