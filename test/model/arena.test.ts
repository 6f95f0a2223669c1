// The arena: one flat tensor carved into named views that share its memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRefBackend } from '../../src/backend/ref/index.ts';
import { Arena, arenaSize, buildParamTable } from '../../src/model/arena.ts';

test('views share the arena memory both ways; replace re-carves; unknown names are errors', () => {
  const be = createRefBackend();
  const table = buildParamTable([{ name: 'a.weight', shape: [2, 3] }, { name: 'a.bias', shape: [2] }, { name: 'b.weight', shape: [4] }]);
  assert.deepEqual(table.map((e) => [e.offset, e.size]), [[0, 6], [6, 2], [8, 4]]);
  assert.equal(arenaSize(table), 12);
  const init = Float32Array.from({ length: 12 }, (_, i) => i);
  const ar = new Arena(be, table, init);
  assert.deepEqual(Array.from(be.readSync(ar.view('a.bias'))), [6, 7]);
  be.run('fill', { x: ar.view('a.bias') }, { value: -1 }); // write through a view ...
  assert.deepEqual(Array.from(be.readSync(ar.base)), [0, 1, 2, 3, 4, 5, -1, -1, 8, 9, 10, 11]); // ... shows in the base
  ar.zero(); // write through the base ...
  assert.ok(ar.views.every((v) => Array.from(be.readSync(v)).every((x) => x === 0))); // ... shows in every view
  ar.replace(init);
  assert.deepEqual(Array.from(be.readSync(ar.view('b.weight'))), [8, 9, 10, 11]);
  assert.throws(() => ar.view('c.weight'), /no parameter named 'c\.weight'/);
  assert.throws(() => ar.replace(new Float32Array(3)), /expected 12 values, got 3/);
  assert.throws(() => new Arena(be, table, new Float32Array(5)), /init has 5 values, the table needs 12/);
  // one sgd op over the flat arenas updates every named parameter
  const g = new Arena(be, table, new Float32Array(12).fill(1)), v = new Arena(be, table);
  be.run('sgd', { w: ar.base, dw: g.base, v: v.base }, { lr: 0.5, momentum: 0.9, weightDecay: 0 });
  for (const e of table) assert.ok(Array.from(be.readSync(ar.view(e.name))).every((x, i) => x === init[e.offset + i] - 0.5), e.name);
  ar.dispose(); g.dispose(); v.dispose();
});
