// Small option parsers shared by the commands (errors name the flag), and `choice`: an option limited to a
// list through commander's own choices, so --help lists the values and a wrong one is refused in one line.
import { Option } from 'commander';
import { BACKEND_CHOICES } from '../backend/index.ts';
import { PRECISIONS } from '../backend/native/precision.ts';

export function int(flag: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*-?\d+\s*$/.test(v) || !Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}
export function num(flag: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new Error(`${flag} must be a number >= ${min}, got '${v}'`);
    return n;
  };
}
export function choice(flags: string, description: string, values: readonly string[], defaultValue?: string): Option {
  const o = new Option(flags, description).choices(values);
  return defaultValue === undefined ? o : o.default(defaultValue);
}
/** --backend values: from the backend registry (the one list of names). */
export const BACKENDS = BACKEND_CHOICES;
/** --precision values (fp32 first, the default); bf16 runs only where the CPU has it, else fp32 with a note. */
export const PRECISION_CHOICES = PRECISIONS;
export const PRECISION_HELP = 'fp32 | bf16: convolutions and fc layers on bf16 inputs with f32 accumulation and f32 master weights (native backend, CPUs with AVX512_BF16 or AMX; elsewhere fp32, said in one line)';
export const VARIANTS = ['paper', 'torchvision'] as const;
export const PROGRESS = ['auto', 'bar', 'lines', 'quiet'] as const;
