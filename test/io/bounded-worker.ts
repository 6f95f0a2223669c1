// Child process for bounded loading (see hostile.ts and fuzz.test.ts): one JSON line per case with
// the outcome, the time it took and how much the process's peak RSS grew during it.
import { loadWeights } from '../../src/io/weights.ts';


process.env.ALEXNET_QUIET = '1';
const maxRssMB = () => process.resourceUsage().maxRSS / 1024;

async function run(label: string, fn: () => Promise<unknown>): Promise<void> {
  const r0 = maxRssMB(), t0 = performance.now();
  let out: Record<string, unknown>;
  try {
    await fn();
    out = { ok: true };
  } catch (e) {
    out = { ok: false, name: e instanceof Error ? e.constructor.name : typeof e, message: e instanceof Error ? e.message : String(e) };
  }
  console.log(JSON.stringify({ file: label, ...out, ms: Math.round(performance.now() - t0), rssGrowthMB: Math.round(maxRssMB() - r0) }));
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'load') {
  for (const f of args) await run(f, () => loadWeights(f));
} else if (mode === 'fuzz') {
  const [reader, seed, count] = args;
  const { fuzzCases } = await import('./fuzz-cases.ts');
  for (const c of await fuzzCases(reader, Number(seed), Number(count))) await run(c.label, c.run);
} else {
  throw new Error(`bounded-worker: unknown mode ${mode}`);
}
