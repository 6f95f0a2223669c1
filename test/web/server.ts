// Starts the explorer for tests on 127.0.0.1 (port 0): the real HTTP service (buildServer from
// src/server/app.ts, which mounts registerWebRoutes) when present, else fastify + registerWebRoutes.
import { existsSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerWebRoutes } from '../../src/server/web.ts';
import { modelFromWeights } from '../../src/viz/load.ts';

const APP = new URL('../../src/server/app.ts', import.meta.url);

export async function startExplorer(weights: string, runDir?: string): Promise<{ app: FastifyInstance; url: string; via: string }> {
  if (existsSync(APP) && !process.env.ALEXNET_WEB_STANDALONE) {
    const { buildServer } = (await import(APP.href)) as { buildServer: (o: { api: unknown; runDir?: string }) => Promise<FastifyInstance> };
    const { load } = (await import(new URL('../../src/api.ts', import.meta.url).href)) as { load: (o: { weights: string; backend: string }) => Promise<{ dispose(): void }> };
    const api = await load({ weights, backend: 'ref' });
    const app = await buildServer({ api, runDir });
    app.addHook('onClose', async () => api.dispose());
    return { app, url: await app.listen({ host: '127.0.0.1', port: 0 }), via: 'buildServer' };
  }
  const { model, meta } = await modelFromWeights(weights, 'ref');
  const app = Fastify();
  await registerWebRoutes(app, { model, meta, runDir });
  app.addHook('onClose', async () => model.dispose());
  return { app, url: await app.listen({ host: '127.0.0.1', port: 0 }), via: 'registerWebRoutes' };
}
