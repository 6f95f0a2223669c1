// Starts the explorer for tests on 127.0.0.1 (port 0): fastify + registerWebRoutes with the small model.
import Fastify, { type FastifyInstance } from 'fastify';
import { registerWebRoutes } from '../../src/server/web.ts';
import { modelFromWeights } from '../../src/viz/load.ts';

export async function startExplorer(weights: string, runDir?: string): Promise<{ app: FastifyInstance; url: string }> {
  const { model, meta } = await modelFromWeights(weights, 'ref');
  const app = Fastify();
  await registerWebRoutes(app, { model, meta, runDir });
  app.addHook('onClose', async () => model.dispose());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}
