// The explorer page and its data routes (issue #6). buildServer (src/server/app.ts) calls registerWebRoutes;
// everything here lives in its own encapsulated fastify scope (own body parser and error handler).
//   GET  /                    the built page (web/dist), built on first request when missing
//   GET  /v1/architecture     summary rows, totals, variant
//   GET  /v1/filters          conv1 kernels as JSON tiles (?format=png for one PNG grid)
//   POST /v1/activations      raw image body -> crop, top-5, strongest channels of every conv layer
//   GET  /v1/samples[/:name]  sample photos (../shared/data/samples or ALEXNET_SAMPLES): {samples: [{file, label?, inClass?}]}
//   GET  /v1/run/log?since=N  the run's log.jsonl from byte N (404 JSON without --run)
//   GET  /v1/run/events       the same as server-sent events, live
import { existsSync, renameSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import sharp from 'sharp';
import type { Model, WeightsMeta } from '../model/types.ts';
import { prepareImage } from '../viz/image.ts';
import { conv1Weight, filterTiles, filterGrid, type FilterTiles } from '../viz/filters.ts';
import { imageActivations, convLayerNames } from '../viz/activations.ts';
import { encodePng } from '../viz/png.ts';
import { architectureOf } from '../viz/architecture.ts';
import { Admission, HttpError, replyError } from './admission.ts';
import { LogTail, pieces } from './run-log.ts';
import { listSamples, openSample } from './samples.ts';
import { DEFAULT_LIMITS } from './limits.ts';

export interface WebContext {
  model: Model; meta: WeightsMeta; runDir?: string;
  /** The service's admission control (queue, body bytes, deadline); a default one when the routes run alone. */
  admission?: Admission;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB_DIST = path.join(ROOT, 'web', 'dist');
const IMAGE_EXT = /\.(jpe?g|png|webp|gif|avif|tiff?)$/i;

function samplesDir(): string | undefined {
  const d = process.env.ALEXNET_SAMPLES ?? path.resolve(ROOT, '..', 'shared', 'data', 'samples');
  return existsSync(d) ? d : undefined;
}

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');

/** One vite build at a time per process; output goes to a temp folder and is renamed into place. */
let building: Promise<boolean> | undefined;
export function ensureWebBuilt(): Promise<boolean> {
  if (existsSync(path.join(WEB_DIST, 'index.html'))) return Promise.resolve(true);
  building ??= (async () => {
    const tmp = `${WEB_DIST}.tmp-${process.pid}`;
    try {
      const vite = await import('vite');
      await vite.build({ configFile: path.join(ROOT, 'web', 'vite.config.ts'), root: path.join(ROOT, 'web'), logLevel: 'warn', build: { outDir: tmp, emptyOutDir: true } });
      if (!existsSync(path.join(WEB_DIST, 'index.html'))) {
        rmSync(WEB_DIST, { recursive: true, force: true });
        renameSync(tmp, WEB_DIST);
      }
      return true;
    } catch {
      return existsSync(path.join(WEB_DIST, 'index.html'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      building = undefined;
    }
  })();
  return building;
}

/** Bytes an SSE client may leave unread before it is dropped. */
const SSE_MAX_BUFFER = 16 * 1024 * 1024;

const NOT_BUILT_HTML = `<!doctype html><html lang="en"><meta charset="utf-8"><title>AlexNet explorer: page not built</title>
<body style="font:16px system-ui;margin:3rem;max-width:40rem"><h1>The explorer page is not built</h1>
<p>The server could not find or build <code>web/dist</code>. Run <code>npm run build:web</code> in the project folder, then reload.</p>
<p>The JSON routes work regardless: <a href="/v1/architecture">/v1/architecture</a>, <a href="/v1/filters">/v1/filters</a>.</p></body></html>`;

/** Resolves when a response can take more (or is gone), leaving no listener behind. */
function drained(res: NodeJS.WritableStream & { once: NodeJS.EventEmitter['once']; off: NodeJS.EventEmitter['off'] }): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.once('drain', done); res.once('close', done);
  });
}

/** The service's --max-pixels for the explorer's uploads too, from the header alone (nothing is decoded). */
async function checkPixels(body: Buffer, maxPixels: number): Promise<void> {
  let m;
  try { m = await sharp(body).metadata(); } catch { return; } // not an image: prepareImage says so in its own words
  const px = (m.width ?? 0) * (m.height ?? 0);
  if (px > maxPixels) throw new HttpError(413, `the image is too large (${m.width}x${m.height} is more than the ${maxPixels} pixel limit)`);
}

export async function registerWebRoutes(app: FastifyInstance, ctx: WebContext): Promise<void> {
  await app.register(async (scope) => {
    const { model, meta } = ctx;
    const admission = ctx.admission ?? new Admission(DEFAULT_LIMITS);
    const bodyLimit = admission.limits.bodyLimit;

    // Own parsers in this scope only: any body arrives as a Buffer (the page posts raw image bytes).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

    scope.setErrorHandler((err: Error & { statusCode?: number; code?: string; retryAfterS?: number }, _req, reply) => {
      let status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      let msg = err.message;
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') { status = 413; msg = `the file is too large (limit ${+(bodyLimit / 1024 / 1024).toFixed(2)} MB)`; }
      if (status >= 500 && status !== 503) scope.log.error(err);
      replyError(reply, status, msg, err);
    });

    await scope.register(fastifyStatic, { root: WEB_DIST, serve: false });

    // Model calls are serialised: the page's requests never interleave inside one forward pass.
    let queue: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
      const p = queue.then(fn, fn);
      queue = p.catch(() => undefined);
      return p;
    };

    // ---- the page ----
    const sendPage = async (file: string, reply: FastifyReply) => {
      if (!(await ensureWebBuilt())) return reply.code(503).type('text/html').send(NOT_BUILT_HTML);
      const full = path.join(WEB_DIST, file);
      if (!full.startsWith(WEB_DIST + path.sep) || !existsSync(full)) return reply.code(404).send({ error: `no such file: ${file}` });
      return reply.sendFile(file, WEB_DIST);
    };
    scope.get('/', (_req, reply) => sendPage('index.html', reply));
    scope.get('/index.html', (_req, reply) => sendPage('index.html', reply));
    scope.get('/assets/*', (req: FastifyRequest<{ Params: { '*': string } }>, reply) => sendPage(path.join('assets', req.params['*']), reply));
    scope.get('/favicon.svg', (_req, reply) => sendPage('favicon.svg', reply));

    // ---- architecture ----
    scope.get('/v1/architecture', async () => ({ ...architectureOf(model, meta), preprocessing: meta.preprocessing }));

    // ---- filters ----
    let tilesCache: Promise<FilterTiles> | undefined;
    const tiles = () => (tilesCache ??= exclusive(async () => filterTiles(await conv1Weight(model), model.variant)));
    scope.get('/v1/filters', async (req: FastifyRequest<{ Querystring: { format?: string; scale?: string } }>, reply) => {
      const f = await tiles();
      if (req.query.format === 'png') {
        const scale = Math.min(16, Math.max(1, Number(req.query.scale) || 4));
        const g = filterGrid(f, { scale });
        return reply.type('image/png').send(await encodePng(g.rgb, g.width, g.height));
      }
      return { variant: model.variant, count: f.count, size: f.size, groups: f.groups, tiles: f.tiles.map(b64) };
    });

    // ---- activations + predictions for one image ----
    // Same admission as /v1/classify: queue bound, body-byte budget and deadline (src/server/admission.ts).
    scope.post<{ Querystring: { top?: string } }>('/v1/activations', { onRequest: admission.admit }, async (req, reply) => {
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) return reply.code(400).send({ error: 'no image in the request: send the image file as the request body' });
      const top = Math.min(64, Math.max(1, Number(req.query.top) || 16));
      let t0 = 0;
      const { img, r } = await admission.within(req, async (signal) => {
        await checkPixels(body, admission.limits.maxPixels);
        const img = await prepareImage(body, meta.preprocessing);
        admission.checkQueue();
        const r = await admission.waitTurn(exclusive, () => { t0 = performance.now(); return imageActivations(model, img.input, img.shape, meta.classNames, { top, topk: 5 }); }, signal);
        return { img, r };
      });
      return {
        size: img.size,
        crop: b64(img.cropRgb),
        ms: Math.round(performance.now() - t0),
        predictions: r.predictions,
        layers: r.layers.map((l) => ({ name: l.name, shape: l.shape, channels: l.channels.map((c) => ({ channel: c.channel, mean: c.mean, max: c.max, data: b64(c.data) })) })),
      };
    });
    scope.get('/v1/layers', async () => ({ conv: convLayerNames(model) }));

    // ---- samples: only files really inside the folder; inClass from samples.json or a `label__` name (src/server/samples.ts) ----
    scope.get('/v1/samples', async () => ({ samples: await listSamples(samplesDir(), IMAGE_EXT, meta.classNames ?? []) }));
    scope.get('/v1/samples/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const s = await openSample(samplesDir(), IMAGE_EXT, req.params.name);
      if (!s) return reply.code(404).send({ error: `no sample named ${JSON.stringify(req.params.name)}` });
      return reply.type(s.type).header('content-length', s.size).header('cache-control', 'no-cache').send(s.stream);
    });

    // ---- training run: one shared reader of log.jsonl for every client (src/server/run-log.ts) ----
    const logFile = ctx.runDir ? path.join(ctx.runDir, 'log.jsonl') : undefined;
    const tail = logFile ? new LogTail(logFile) : undefined;
    const runName = ctx.runDir ? path.basename(path.resolve(ctx.runDir)) : '';
    const noRun = { error: 'no training run: start the server with --run RUN_DIR to see its curves' };
    scope.get('/v1/run/log', async (req: FastifyRequest<{ Querystring: { since?: string } }>, reply) => {
      if (!tail) return reply.code(404).send(noRun);
      await tail.refresh();
      const s = tail.since(Math.max(0, Number(req.query.since) || 0));
      const head = JSON.stringify({ run: runName, exists: tail.exists, offset: s.offset, size: tail.size, reset: s.reset, truncated: s.truncated });
      const body = (function* () {
        yield `${head.slice(0, -1)},"entries":[`;
        let first = true;
        for (const p of pieces(s)) { yield (first ? '' : ',') + p.json; first = false; }
        yield ']}';
      })();
      return reply.type('application/json').send(Readable.from(body, { objectMode: false }));
    });
    const streams = new Set<() => void>();
    const liveText = new WeakMap<object, Buffer>(); // one event per batch, encoded once, written to every client
    scope.addHook('preClose', async () => { for (const stop of [...streams]) stop(); tail?.close(); });
    scope.get('/v1/run/events', async (req, reply) => {
      if (!tail) return reply.code(404).send(noRun);
      await tail.refresh();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const event = (json: string, offset: number, reset: boolean) => `event: log\ndata: {"entries":[${json}],"offset":${offset},"reset":${reset}}\n\n`;
      let closed = false, sending = true, last = Date.now(), pendingBytes = 0;
      const pending: Buffer[] = [];
      const write = (text: string | Buffer) => {
        last = Date.now();
        // a client that stops reading is dropped rather than buffered without bound
        if (res.writableLength > SSE_MAX_BUFFER) { stop(); return; }
        res.write(text);
      };
      // New records fan out as one shared event text per batch; history goes first, slice by slice.
      const unsubscribe = tail.subscribe((b) => {
        let ev = liveText.get(b);
        if (ev === undefined) liveText.set(b, ev = Buffer.from(event(b.lines.slice(b.from, b.to).join(','), b.offset, b.reset)));
        if (!sending) write(ev);
        else if ((pendingBytes += ev.length) > SSE_MAX_BUFFER) stop(); // still reading its history while the log races ahead
        else pending.push(ev);
      });
      const keepAlive = setInterval(() => { if (Date.now() - last > 15_000) write(': keep-alive\n\n'); }, 5_000);
      keepAlive.unref();
      const stop = () => { if (closed) return; closed = true; clearInterval(keepAlive); unsubscribe(); streams.delete(stop); res.end(); };
      streams.add(stop);
      req.raw.on('close', stop);
      res.write(': connected\n\n');
      for (const p of pieces(tail.since(0))) {
        if (closed) return;
        if (!res.write(event(p.json, p.offset, false))) await drained(res);
      }
      sending = false;
      for (const ev of pending.splice(0)) write(ev);
    });
  });
}
