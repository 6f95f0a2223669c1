// package.json's `engines` must hold for the installed tree: every Node version it allows satisfies the
// `engines.node` of every installed package (what npm reports as EBADENGINE otherwise), and the Node running
// the tests is one of them. A dependency update that needs a newer Node fails here, naming the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const semver = createRequire(import.meta.url)('semver') as {
  subset(sub: string, dom: string, o?: { includePrerelease?: boolean }): boolean;
  satisfies(v: string, range: string): boolean;
  validRange(r: string): string | null;
};

interface Pkg { name?: string; version?: string; engines?: { node?: string } }
const read = (f: string): Pkg => JSON.parse(readFileSync(f, 'utf8')) as Pkg;

/** Every package.json under node_modules, nested node_modules included. */
function installed(dir: string, out: { file: string; pkg: Pkg }[] = []): { file: string; pkg: Pkg }[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    if (e.startsWith('.')) continue;
    const p = path.join(dir, e);
    if (e.startsWith('@')) { installed(p, out); continue; }
    const pj = path.join(p, 'package.json');
    if (existsSync(pj)) out.push({ file: pj, pkg: read(pj) });
    installed(path.join(p, 'node_modules'), out);
  }
  return out;
}

test('engines.node covers the installed tree and the running Node', (t) => {
  const ours = read(path.join(ROOT, 'package.json')).engines?.node;
  assert.ok(ours && semver.validRange(ours), `package.json engines.node is missing or invalid: ${ours}`);
  assert.ok(semver.satisfies(process.versions.node, ours), `running Node ${process.versions.node} is outside engines ${ours}`);
  const pkgs = installed(path.join(ROOT, 'node_modules'));
  if (pkgs.length === 0) { t.skip('SKIP: node_modules missing'); return; }
  const bad = pkgs.filter(({ pkg }) => {
    const need = pkg.engines?.node;
    return typeof need === 'string' && semver.validRange(need) !== null && !semver.subset(ours, need);
  }).map(({ pkg }) => `${pkg.name}@${pkg.version} needs node ${pkg.engines!.node}`);
  assert.deepEqual(bad, [], `engines ${ours} allows Node versions these packages refuse`);
});
