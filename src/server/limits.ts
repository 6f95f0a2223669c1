// The service's limits and the one rule they follow: every limit is an integer >= 1. A 0 would either
// switch a protection off (a pixel limit of 0 means "no limit" to sharp) or refuse every request
// (a queue of 0, a deadline of 0 ms), so it is refused at start-up instead of being given a meaning.
export interface ServerLimits {
  /** Request body bytes (raw or multipart file). Default 10 MB. */
  bodyLimit: number;
  /** Decoded pixels per image (decompression bombs). Default 40 megapixels. */
  maxPixels: number;
  /** Per-request deadline from the first byte: headers, body, decoding, waiting for and running the forward. Default 30 s. */
  timeoutMs: number;
  /** Dynamic batching: at most maxBatch images per forward, waiting at most batchWaitMs for company. */
  maxBatch: number;
  batchWaitMs: number;
  /** Images waiting for a forward (batched or explorer) beyond which new requests get 503 (bounded memory under overload). */
  maxQueue: number;
  /** Body bytes all model requests together may hold at once (each counts its Content-Length, or bodyLimit
   *  when chunked); a request that would go over gets 503 with Retry-After before its body is read. Default 128 MB. */
  maxInflightBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyLimit: 10 * 1024 * 1024, maxPixels: 40_000_000, timeoutMs: 30_000, maxBatch: 16, batchWaitMs: 5, maxQueue: 256,
  maxInflightBytes: 128 * 1024 * 1024,
};

/** What each limit protects, for the error that refuses a value that would defeat it. */
const WHY: Record<keyof ServerLimits, string> = {
  bodyLimit: 'a body limit of 0 would refuse every request',
  maxPixels: '0 would turn the decompression-bomb guard off',
  timeoutMs: 'a deadline of 0 would time out every request',
  maxBatch: 'a batch holds at least one image',
  batchWaitMs: '',
  maxQueue: 'a queue of 0 would refuse every request',
  maxInflightBytes: '0 would refuse every request',
};

/** Checks a full set of limits; throws one line naming the limit (as its flag when `flags` maps it). */
export function checkLimits(l: ServerLimits, flags: Partial<Record<keyof ServerLimits, string>> = {}): ServerLimits {
  for (const k of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const v = l[k], min = k === 'batchWaitMs' ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min) {
      const why = v === 0 && WHY[k] ? ` (${WHY[k]})` : '';
      throw new Error(`${flags[k] ?? `server limit ${k}`} must be an integer >= ${min}, got ${v}${why}`);
    }
  }
  if (l.maxInflightBytes < l.bodyLimit)
    throw new Error(`${flags.maxInflightBytes ?? 'server limit maxInflightBytes'} (${l.maxInflightBytes}) must be >= the body limit (${l.bodyLimit}), or no full-size upload could ever be admitted`);
  return l;
}
