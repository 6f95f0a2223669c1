// Stands in for the two Node-only modules the page's worker still imports through src/data/preprocess.ts
// (sharp and node:fs, for decoding image files in Node): the worker only calls that module's pure parts
// (toInput, centerOffset; the browser decodes images itself). The weights decoder needs no stand-in: the
// worker imports src/io/safetensors-weights.ts, which touches no file system. Anything that does reach
// here fails with a clear message.
const unavailable = (what: string) => (): never => { throw new Error(`${what} is not available in the browser`); };

export default unavailable('sharp (image decoding in Node)');
export const readFileSync = unavailable('reading files');
