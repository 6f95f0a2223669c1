// Admission control shared by every route that runs the model (/v1/classify, /v1/embed, /v1/activations):
// one queue bound, one budget of body bytes held at once, one deadline counted from the request's arrival.
// The checks run in an onRequest hook, before any body byte is read, so shedding load costs almost nothing.
//   queue:  images waiting for a forward (the batcher's and the explorer's) >= maxQueue   -> 503 + Retry-After
//   bytes:  reserved body bytes + this request's > maxInflightBytes                        -> 503 + Retry-After
//   time:   from arrival to answer > timeoutMs (the body itself is cut by Node at the same deadline) -> 503
// A request reserves its Content-Length (bodyLimit when chunked: the most it can send) until its response closes.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerLimits } from './limits.ts';

export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string, readonly retryAfterS?: number) { super(message); }
}

/** Error handler body shared by the service's scopes: JSON {error}, Retry-After on a busy 503. */
export function replyError(reply: FastifyReply, status: number, msg: string, err: { retryAfterS?: number }): void {
  if (err.retryAfterS) reply.header('retry-after', String(err.retryAfterS));
  reply.code(status).type('application/json').send({ error: msg });
}

export class Admission {
  /** Body bytes reserved by admitted requests whose responses have not closed yet. */
  bytes = 0;
  /** Explorer model calls waiting for their turn (the batcher counts its own). */
  waiting = 0;
  readonly stats = { shedQueue: 0, shedBytes: 0, timedOut: 0 };
  private arrived = new WeakMap<FastifyRequest, number>();

  constructor(readonly limits: ServerLimits, private batcherPending: () => number = () => 0) {}

  get queued(): number { return this.batcherPending() + this.waiting; }

  /** Throws 503 when the queue is full (called on arrival and again just before a forward is queued). */
  checkQueue(): void {
    const q = this.queued;
    if (q >= this.limits.maxQueue) {
      this.stats.shedQueue++;
      throw new HttpError(503, `server busy: ${q} images already queued (limit ${this.limits.maxQueue}); retry later`, 1);
    }
  }

  /** onRequest hook for model routes. */
  admit = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    this.arrived.set(req, Date.now());
    this.checkQueue();
    const { bodyLimit, maxInflightBytes } = this.limits;
    const len = Number(req.headers['content-length']);
    const want = Number.isFinite(len) && len >= 0 && req.headers['content-length'] !== undefined ? Math.min(len, bodyLimit) : bodyLimit;
    if (this.bytes + want > maxInflightBytes) {
      this.stats.shedBytes++;
      throw new HttpError(503, `server busy: ${this.bytes} request body bytes in flight (limit ${maxInflightBytes}); retry later`, 1);
    }
    this.bytes += want;
    let held = true;
    const release = () => { if (held) { held = false; this.bytes -= want; } };
    reply.raw.once('finish', release); // an answered request (also under inject, which may not emit close)
    reply.raw.once('close', release); // an aborted one
  };

  /** Runs work under the request's deadline (counted from arrival); on expiry aborts the signal and answers 503. */
  async within<T>(req: FastifyRequest, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { timeoutMs } = this.limits;
    const left = (this.arrived.get(req) ?? Date.now()) + timeoutMs - Date.now();
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, rej) => {
      timer = setTimeout(() => { ac.abort(); this.stats.timedOut++; rej(new HttpError(503, `request timed out after ${timeoutMs} ms`)); }, Math.max(0, left));
    });
    const p = work(ac.signal);
    p.catch(() => {}); // a late failure after the deadline must not go unhandled
    try { return await Promise.race([p, expired]); } finally { clearTimeout(timer); }
  }

  /** Queues fn behind `serial` (the explorer's one-at-a-time model calls), counted in the queue until it starts;
   *  an aborted signal drops it before it starts. */
  async waitTurn<T>(serial: <R>(f: () => Promise<R>) => Promise<R>, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.waiting++;
    let started = false;
    try {
      return await serial(async () => {
        this.waiting--; started = true;
        if (signal?.aborted) throw new HttpError(503, 'request abandoned before its forward');
        return fn();
      });
    } finally { if (!started) this.waiting--; }
  }
}

/** Node's own cut-offs for a slow client, so that headers and body are received within the deadline.
 *  Node checks them every connectionsCheckingInterval (30 s by default, which let a 30 s deadline run to 77 s). */
export function httpTimeouts(timeoutMs: number) {
  return {
    requestTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(timeoutMs / 4))),
  };
}
