// Stands in for Node-only modules (sharp, node:fs, node:path, node:zlib, node:os, ...) in the browser bundle: the model,
// weights and preprocessing code the page shares with Node imports them at top level but the page only
// calls their pure parts (decodeWeights, toInput). Anything that does reach here fails with a clear message.
const unavailable = (what: string) => (): never => { throw new Error(`${what} is not available in the browser`); };

export default unavailable('sharp (image decoding in Node)');
export const readFileSync = unavailable('reading files');
export const open = unavailable('reading files');
export const readFile = unavailable('reading files');
export const rename = unavailable('writing files');
export const unlink = unavailable('writing files');
export const inflateRawSync = unavailable('zip archives (.pth weights)');
export const crc32 = unavailable('zip archives (.pth weights)');
export const dirname = (p: string) => p.replace(/\/[^/]*$/, '') || '/';
export const isAbsolute = (p: string) => p.startsWith('/');
export const resolve = (...p: string[]) => p.join('/');
export const relative = (_from: string, to: string) => to;
// the atomic writer, the cache folder and the file checks of loadWeights (all Node-only paths)
export const statfsSync = unavailable('writing files');
export const mkdirSync = unavailable('writing files');
export const openSync = unavailable('writing files');
export const writeSync = unavailable('writing files');
export const fsyncSync = unavailable('writing files');
export const closeSync = unavailable('writing files');
export const renameSync = unavailable('writing files');
export const unlinkSync = unavailable('writing files');
export const readdirSync = unavailable('reading folders');
export const existsSync = unavailable('reading files');
export const stat = unavailable('reading files');
export const realpath = unavailable('reading files');
export const homedir = unavailable('the cache folder');
export const extname = (p: string) => /\.[^./]*$/.exec(p)?.[0] ?? '';
export const sep = '/';
export const endianness = () => 'LE'; // every browser WebGPU runs on is little-endian
