// Runs every test/**/*.test.ts with Node's test runner through tsx, then the type checker.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const files = [];
const walk = (d) => {
  for (const e of readdirSync(d)) {
    const p = path.join(d, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.ts')) files.push(path.relative(root, p));
  }
};
walk(path.join(root, 'test'));
files.sort();
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
console.log(`[test] type-checking (tsc --noEmit) ...`);
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { stdio: 'inherit', cwd: root });
if (tsc.status !== 0) { console.error('[test] type check failed'); process.exit(1); }
console.log(`[test] running ${selected.length} test files`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...selected], { stdio: 'inherit', cwd: root, env: { ...process.env, ALEXNET_TEST: '1' } });
process.exit(r.status ?? 1);
