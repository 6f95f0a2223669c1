// IEEE 754 half and bfloat16 <-> float32: the one home of half floats for every weights reader and writer.

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

/** number -> binary16 bits, rounded to nearest even (the float32 value of x first, as a Float32Array holds it):
 *  above 65504 (after rounding) is infinity, below 2^-25 is a signed zero, NaN stays NaN. */
export function floatToHalf(x: number): number {
  bfView[0] = x;
  const b = bfScratch[0];
  const s = (b >>> 16) & 0x8000, e = (b >>> 23) & 0xff, m = b & 0x7fffff;
  if (e === 0xff) return s | 0x7c00 | (m ? 0x200 | (m >>> 13) : 0);
  const he = e - 112; // rebias 127 -> 15
  if (he >= 31) return s | 0x7c00;
  if (he <= 0) {
    if (he < -10) return s;
    const mm = m | 0x800000, shift = 14 - he, rem = mm & ((1 << shift) - 1), half = 1 << (shift - 1);
    let h = mm >>> shift;
    if (rem > half || (rem === half && h & 1)) h++;
    return s | h;
  }
  let h = (he << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is the right answer (up to infinity)
  return s | h;
}

/** float32 values -> binary16 bits. */
export function floatsToHalves(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = floatToHalf(src[i]);
  return out;
}

let halfTable: Float32Array | undefined;
/** binary16 bits -> float32, through a 65536-entry table (256 KiB, built once): AlexNet's 61M weights took
 *  1.2 s this way and 16 s with a halfToFloat call each (Node 20, a loaded 2-core EPYC Zen 5). */
export function halvesToFloats(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  const t = halfTable;
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}
