// IEEE 754 half and bfloat16 -> float32: the one decoder for every weights reader.

/** binary16 bits -> number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const bfScratch = new Uint32Array(1);
const bfView = new Float32Array(bfScratch.buffer);
/** bfloat16 bits -> number: the high half of a float32. */
export function bf16ToFloat(h: number): number {
  bfScratch[0] = (h & 0xffff) << 16;
  return bfView[0];
}
