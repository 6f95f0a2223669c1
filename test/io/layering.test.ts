// io sits above model and below train/api: reading weights must not pull in the image decoder (sharp,
// via src/data) nor import upward, and the formats must not import their registry (no circle).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const imports = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) out.push(m[1] ?? m[2]);
  return out;
};

test('src/io reaches neither sharp nor src/data\'s decoder, train, api, server or cli, and has no import circle', () => {
  const seen = new Map<string, string[]>(); // file -> the import chain that reached it
  const stack: [string, string[]][] = [[resolve(SRC, 'io/weights.ts'), []]];
  while (stack.length) {
    const [file, chain] = stack.pop()!;
    if (seen.has(file)) continue;
    seen.set(file, chain);
    for (const spec of imports(file)) {
      const path = [...chain, relative(SRC, file)];
      assert.notEqual(spec, 'sharp', `sharp imported via ${path.join(' -> ')}`);
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const rel = relative(SRC, target);
      // everything in src/data may load sharp (the RNG it uses lives on the ground floor, src/util/rng.ts)
      assert.ok(!/^(train|api|server|cli|viz)\b/.test(rel) && !rel.startsWith('data/'), `${rel} imported via ${path.join(' -> ')}`);
      if (rel.startsWith('io/') && rel !== 'io/weights.ts') assert.ok(!path.includes(rel), `circle: ${[...path, rel].join(' -> ')}`);
      assert.ok(rel !== 'io/weights.ts', `circle back to the registry via ${path.join(' -> ')}`);
      stack.push([target, path]);
    }
  }
  assert.ok([...seen.keys()].some((f) => f.endsWith('io/pth.ts')), 'walked the formats');
});
