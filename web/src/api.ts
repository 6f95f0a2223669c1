// Talking to `alexnet serve`: every failure becomes an ApiError whose message is plain words.

export class ApiError extends Error {
  constructor(message: string, readonly status: number) { super(message); this.name = 'ApiError'; }
}

function describeStatus(status: number): string {
  if (status === 404) return 'the server does not have this feature (404)';
  if (status === 413) return 'the file is too large for the server';
  if (status === 503) return 'the server is not ready';
  if (status >= 500) return `the server hit an internal error (${status})`;
  return `the server refused the request (${status})`;
}

export async function api<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError('The server did not answer. Is `alexnet serve` still running?', 0);
  }
  const text = await res.text();
  let body: unknown;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  if (!res.ok) {
    const msg = body && typeof body === 'object' && 'error' in body ? String((body as { error: unknown }).error) : describeStatus(res.status);
    throw new ApiError(msg.charAt(0).toUpperCase() + msg.slice(1), res.status);
  }
  if (body === undefined) throw new ApiError('The server sent an answer the page could not read.', res.status);
  return body as T;
}

export interface SummaryLayer { name: string; kind: string; outputShape: number[]; params: number; macs: number; tensors: { name: string; shape: number[] }[] }
export interface Architecture {
  variant: string; classes: number; inputShape: number[];
  totals: { params: number; macs: number };
  widthScale?: number; hidden?: number;
  layers: SummaryLayer[];
}
export interface Filters { variant: string; count: number; size: number; groups: number[][]; tiles: string[] }
export interface Prediction { index: number; className: string; probability: number }
export interface Activations {
  size: number; crop: string; ms: number;
  predictions: Prediction[];
  layers: { name: string; shape: [number, number, number]; channels: { channel: number; mean: number; max: number; data: string }[] }[];
}
export interface RunLog { run: string; exists: boolean; entries: Record<string, unknown>[]; offset: number; size: number; reset: boolean }

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
