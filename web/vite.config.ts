// Vite config for the explorer page: `npm run build:web` writes web/dist, which `alexnet serve` serves at /.
// `npx vite web` runs a dev server that forwards /v1 to a running `alexnet serve` on port 8080.
import { defineConfig } from 'vite';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  build: { outDir: path.join(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 200 },
  server: {
    fs: { allow: [path.join(here, '..')] },
    proxy: { '/v1': 'http://127.0.0.1:8080', '/healthz': 'http://127.0.0.1:8080' },
  },
});
