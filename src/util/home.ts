// Where alexnet-ts keeps what it downloads and converts: `ALEXNET_HOME`, else ~/.cache/alexnet-ts
// ($XDG_CACHE_HOME/alexnet-ts when that is set). Pulled weights live in <home>/weights/<name>.safetensors,
// downloaded data sets in <home>/data/, the per-machine kernel choices in <home>/kernels/.
import { homedir } from 'node:os';
import path from 'node:path';

export function alexnetHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ALEXNET_HOME) return path.resolve(env.ALEXNET_HOME);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(homedir(), '.cache');
  return path.join(base, 'alexnet-ts');
}

export const homeWeightsDir = (env?: NodeJS.ProcessEnv): string => path.join(alexnetHome(env), 'weights');
export const homeDataDir = (env?: NodeJS.ProcessEnv): string => path.join(alexnetHome(env), 'data');
