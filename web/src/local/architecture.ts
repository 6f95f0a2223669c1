// The architecture summary the page draws, from a model in this browser: the same builder as alexnet
// serve's /v1/architecture (src/viz/architecture.ts).
import type { AlexNet } from '../../../src/model/alexnet.ts';
import type { WeightsMeta } from '../../../src/model/types.ts';
import { architectureOf as build } from '../../../src/viz/architecture.ts';
import type { Architecture } from '../api.ts';

export function architectureOf(model: AlexNet, meta: WeightsMeta): Architecture {
  return build(model, meta);
}
