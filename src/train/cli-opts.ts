// Small option parsers shared by the data/train/eval/predict/demo commands (errors name the flag).
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
export function oneOf<T extends string>(flag: string, values: readonly T[]) {
  return (v: string): T => {
    if (!values.includes(v as T)) throw new Error(`${flag} must be one of ${values.join(', ')}, got '${v}'`);
    return v as T;
  };
}
