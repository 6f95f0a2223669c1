// createModel: the one way to get an AlexNet (either variant) on any backend.
import { checkBackendName, createBackend } from '../backend/index.ts';
import type { Backend } from '../backend/backend.ts';
import { backendPrecision } from '../backend/native/precision.ts';
import { AlexNet } from './alexnet.ts';
import { normaliseArch } from './spec.ts';
import type { Model, ModelConfig } from './types.ts';

export async function createModel(cfg: ModelConfig): Promise<Model> {
  const arch = normaliseArch(cfg);
  const seed = cfg.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const spec = cfg.backend ?? 'auto';
  let be: Backend;
  let owns = false;
  if (typeof spec === 'string') {
    be = await createBackend(checkBackendName(spec), { precision: cfg.precision });
    owns = true;
  } else {
    if (cfg.precision !== undefined && cfg.precision !== backendPrecision(spec)) throw new Error(`createModel: precision applies to a backend createModel creates (backend: 'auto' or a name); the ${spec.name} backend passed in computes in ${backendPrecision(spec)} (createBackend(name, { precision }))`);
    be = spec;
  }
  try {
    return new AlexNet(be, arch, seed, owns);
  } catch (err) {
    if (owns) be.dispose();
    throw err;
  }
}

export { AlexNet, paramTable } from './alexnet.ts';
export { summarize, summaryRows, formatSummary } from './summary.ts';
export { defaultInputSize, minInputSize, normaliseArch } from './spec.ts';
export type * from './types.ts';
