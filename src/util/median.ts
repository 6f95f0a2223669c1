// The median of a list of numbers (the mean of the two middle ones for an even count), for figures taken over
// rounds or calls: one home for benches and the bench command.
export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
