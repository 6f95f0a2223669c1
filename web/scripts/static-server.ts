// A plain static file server on 127.0.0.1 (what any static host does: files, no routes, no model), for
// the static-page test and the page bench. `mounts` maps URL prefixes to folders ('' is the root).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml',
  '.jpg': 'image/jpeg', '.png': 'image/png', '.wasm': 'application/wasm', '.json': 'application/json',
};

export function serveFolders(mounts: Record<string, string>): Promise<{ server: Server; url: string }> {
  const list = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [prefix, dir] = list.find(([pre]) => p === `/${pre}` || p.startsWith(`/${pre}${pre ? '/' : ''}`)) ?? ['', ''];
    const rel = p.slice(prefix.length + 1).replace(/^\/+/, '') || 'index.html';
    const root = path.resolve(dir), file = path.resolve(root, rel);
    if (!dir || !file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    resolve({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` });
  }));
}
