// A local HTTP server (127.0.0.1, random port) for the download tests: it serves files with or without
// Range support, slowly, cut short, or not at all, and records the Range header of every request.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  body: Uint8Array;
  /** Honour `Range: bytes=N-` with 206 (default true). */
  range?: boolean;
  /** Send Content-Length of the whole body but close the connection after this many bytes, for the first `cutTimes` requests (default all). */
  cutAt?: number;
  cutTimes?: number;
  /** Send the body in chunks of this size with this pause between them. */
  chunk?: number;
  pauseMs?: number;
  status?: number;
  /** Send this many bytes and then nothing more (the connection stays open), for the first request only. */
  stallAt?: number;
}

export interface TestServer { url: string; requests: { path: string; range?: string }[]; close(): Promise<void> }

export async function startServer(routes: Record<string, Route>): Promise<TestServer> {
  const requests: { path: string; range?: string }[] = [];
  const served: Record<string, number> = {};
  const server = http.createServer(async (req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    requests.push({ path: p, range: req.headers.range });
    const r = routes[p];
    if (!r) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
    if (r.status) { res.writeHead(r.status); res.end(); return; }
    const n = served[p] = (served[p] ?? 0) + 1;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && r.range !== false) {
      start = Number(m[1]);
      if (start >= r.body.length) { res.writeHead(416, { 'content-range': `bytes */${r.body.length}` }); res.end(); return; }
      res.writeHead(206, { 'content-length': r.body.length - start, 'content-range': `bytes ${start}-${r.body.length - 1}/${r.body.length}`, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': r.body.length, ...(r.range !== false ? { 'accept-ranges': 'bytes' } : {}) });
    }
    if (r.stallAt !== undefined && n === 1) { res.write(r.body.subarray(start, r.stallAt)); return; }
    res.flushHeaders();
    const cut = r.cutAt !== undefined && n <= (r.cutTimes ?? Infinity) ? Math.max(start, r.cutAt) : r.body.length;
    const step = r.chunk ?? 1 << 16;
    for (let off = start; off < cut; off += step) {
      res.write(r.body.subarray(off, Math.min(cut, off + step)));
      if (r.pauseMs) await new Promise((s) => setTimeout(s, r.pauseMs));
    }
    if (cut < r.body.length) { await new Promise((s) => setTimeout(s, 20)); res.socket?.destroy(); return; }
    res.end();
  });
  await new Promise<void>((s) => server.listen(0, '127.0.0.1', s));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, requests,
    close: () => new Promise<void>((s) => { server.closeAllConnections(); server.close(() => s()); }),
  };
}

/** A port on 127.0.0.1 with nothing listening (for "no network" errors). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
