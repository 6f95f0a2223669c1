// The machine's measured fp32 GEMM peak for `alexnet bench`: GFLOP/s of OpenBLAS's sgemm on n x n x n (the
// library the native backend links, with whatever OPENBLAS_CORETYPE the environment sets: its kernels are the
// ones our fc layers get), best of --reps after one warm-up run. Prints one JSON line (or {"skip": reason}).
//   node --import tsx bench/gemm_peak.ts --n 4096 --reps 3 --threads 2
import { parseArgs } from 'node:util';
import { loadAddon } from '../src/backend/native/addon.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '4096' }, reps: { type: 'string', default: '3' }, threads: { type: 'string', default: '2' } } });
const skip = (why: string) => { console.log(JSON.stringify({ skip: why })); process.exit(0); };
let addon;
try { addon = loadAddon(); } catch (e) { skip(`native addon not loadable: ${(e as Error).message.split('\n')[0]}`); }
if (typeof addon!.sgemmPeak !== 'function') skip('the native addon predates sgemmPeak; rebuild it (npm run build:addon)');
const n = Number(values.n), reps = Number(values.reps), threads = Number(values.threads);
const gflops = addon!.sgemmPeak!(n, reps, threads);
console.log(JSON.stringify({ gflops, n, reps, threads, coretype: process.env.OPENBLAS_CORETYPE ?? null }));
