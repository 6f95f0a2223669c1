// alexnet bench: figures from alternating rounds are combined as medians (peak RSS: maximum), skipped rounds ignored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineRounds } from '../../src/cli/bench.ts';

const r = (b1: number, b64: number, t: number, rss: number) => ({ forward: { batch1: b1, batch64: b64 }, train: { batch128: t }, peakRssMiB: rss });

test('combineRounds: median per figure, max RSS, odd and even counts', () => {
  assert.deepEqual(combineRounds([r(1, 100, 30, 900), r(3, 90, 10, 1000), r(2, 140, 20, 950)]), r(2, 100, 20, 1000));
  assert.deepEqual(combineRounds([r(1, 100, 30, 900), r(3, 90, 10, 1000)]), r(2, 95, 20, 1000));
});

test('combineRounds: skipped rounds are ignored; all skipped gives the skip', () => {
  assert.deepEqual(combineRounds([{ skip: 'x' }, r(1, 2, 3, 4)]), r(1, 2, 3, 4));
  assert.deepEqual(combineRounds([{ skip: 'SKIP: python3-torch missing' }]), { skip: 'SKIP: python3-torch missing' });
});
