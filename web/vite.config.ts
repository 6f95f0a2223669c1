// Vite config for the explorer page: `npm run build:web` writes web/dist, which `alexnet serve` serves at /
// and which works from any static file server with ?weights=URL (relative asset paths: any sub-folder).
// `npx vite web` runs a dev server that forwards /v1 to a running `alexnet serve` on port 8080.
import { defineConfig } from 'vite';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// Node-only modules the shared preprocessing code imports but the browser never calls (see stub-node.ts).
// No other Node module has a stand-in: the weights decoder the page uses needs none.
const stub = path.join(here, 'src', 'local', 'stub-node.ts');
const NODE_ONLY = ['sharp', 'node:fs'];

export default defineConfig({
  root: here,
  base: './',
  resolve: { alias: NODE_ONLY.map((find) => ({ find: new RegExp(`^${find}$`), replacement: stub })) },
  worker: { format: 'es' },
  build: {
    outDir: path.join(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 200,
    // bench.html: the page-level WebGPU bench (bench/webgpu-page.ts); alexnet serve only serves index.html
    rollupOptions: { input: { main: path.join(here, 'index.html'), bench: path.join(here, 'bench.html') } },
  },
  server: {
    fs: { allow: [path.join(here, '..')] },
    proxy: { '/v1': 'http://127.0.0.1:8080', '/healthz': 'http://127.0.0.1:8080' },
  },
});
