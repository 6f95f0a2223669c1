// Colour maps shared by the page (web/src) and the PNG writers: no Node or DOM imports here.

// Stops of matplotlib's "inferno" (perceptually uniform, dark = 0, bright = high activation).
const INFERNO: [number, number, number][] = [
  [0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85],
  [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164],
];

/** RGB of inferno at t in [0,1]. */
export function inferno(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(x));
  const f = x - i;
  const a = INFERNO[i], b = INFERNO[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** A 256-entry lookup table (RGB triples) of inferno, for fast per-pixel mapping of uint8 maps. */
export function infernoLut(): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  for (let v = 0; v < 256; v++) lut.set(inferno(v / 255), v * 3);
  return lut;
}

/** Maps a uint8 intensity map (H*W) to RGBA (H*W*4) through a LUT from infernoLut(). */
export function mapToRgba(map: Uint8Array, lut: Uint8Array, out?: Uint8ClampedArray): Uint8ClampedArray {
  const rgba = out ?? new Uint8ClampedArray(map.length * 4);
  for (let i = 0; i < map.length; i++) {
    const v = map[i] * 3;
    rgba[i * 4] = lut[v]; rgba[i * 4 + 1] = lut[v + 1]; rgba[i * 4 + 2] = lut[v + 2]; rgba[i * 4 + 3] = 255;
  }
  return rgba;
}
