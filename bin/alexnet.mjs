#!/usr/bin/env node
// CLI entry. Runs the compiled dist/ under plain node. In a clone whose src/ is newer than dist/ (or has no
// dist/ yet) it runs the TypeScript sources through tsx instead, so a clone never runs stale code; an
// installed package has no src/ and always takes the dist path.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist', 'cli', 'main.js');
const src = path.join(root, 'src');

/** True when some file or folder under src/ changed after dist/ was built (a folder: a file added or removed; a few ms for ~150 files). */
function distIsStale() {
  const built = statSync(dist).mtimeMs;
  for (const f of readdirSync(src, { recursive: true })) {
    if (statSync(path.join(src, f)).mtimeMs > built) return true;
  }
  return false;
}

const hasDist = existsSync(dist);
const fromSource = existsSync(path.join(src, 'cli', 'main.ts')) &&
  (process.env.ALEXNET_FROM_SOURCE === '1' || !hasDist || distIsStale());
if (fromSource) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    if (!hasDist) {
      console.error('alexnet: dist/ is not built and tsx is not installed: run `npm install` (or `npm run build`) in the project folder');
      process.exit(1);
    }
  }
  if (register) {
    register();
    await import(pathToFileURL(path.join(src, 'cli', 'main.ts')).href);
  } else await import(pathToFileURL(dist).href);
} else if (hasDist) {
  await import(pathToFileURL(dist).href);
} else {
  console.error(`alexnet: ${path.relative(process.cwd(), dist) || dist} is missing: this package was installed without its compiled output; reinstall it`);
  process.exit(1);
}
