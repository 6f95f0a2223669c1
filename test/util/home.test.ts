import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import path from 'node:path';
import { alexnetHome, homeWeightsDir } from '../../src/util/home.ts';

test('ALEXNET_HOME wins, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(alexnetHome({ ALEXNET_HOME: '/x/y', XDG_CACHE_HOME: '/c' }), '/x/y');
  assert.equal(alexnetHome({ XDG_CACHE_HOME: '/c' }), '/c/alexnet-ts');
  assert.equal(alexnetHome({}), path.join(homedir(), '.cache', 'alexnet-ts'));
  assert.equal(homeWeightsDir({ ALEXNET_HOME: '/h' }), '/h/weights');
});
