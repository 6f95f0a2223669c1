// PNG encoding through sharp (raw RGB in, PNG bytes out).
import sharp from 'sharp';

export async function encodePng(rgb: Uint8Array, width: number, height: number, channels: 1 | 3 | 4 = 3): Promise<Buffer> {
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels } })
    .png({ compressionLevel: 9 }).toBuffer();
}
