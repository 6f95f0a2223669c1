// Stands in for Node-only modules (sharp, node:fs, node:path, node:zlib) in the browser bundle: the model,
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
