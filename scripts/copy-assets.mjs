// After tsc: copies the data files that src/ reads at run time next to the compiled modules in dist/
// (tsc emits only JavaScript and declarations).
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ASSETS = ['io/imagenet-synsets.txt'];
for (const a of ASSETS) {
  mkdirSync(path.dirname(path.join(root, 'dist', a)), { recursive: true });
  copyFileSync(path.join(root, 'src', a), path.join(root, 'dist', a));
}
