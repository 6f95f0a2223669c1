// The static explorer page in headless Chromium: `vite build` of web/ served by a plain static file
// server on 127.0.0.1 (no alexnet serve), weights by URL, a real photo by URL. The page must run the
// model on WebGPU (Chromium's SwiftShader adapter) and show the same top-1 class as Node's native (or
// ref) backend on the same weights and photo; ?backend=ref must give the same class from the worker, and
// the f16 file `alexnet convert --dtype f16` writes (half the download) the same class as the f32 one,
// and an int8 file (`alexnet quantize`, a quarter of it) the class of its dequantised weights.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createBackend } from '../../../src/backend/index.ts';
import { defaultPreprocessing, prepareInput } from '../../../src/data/preprocess.ts';
import { encodeQuantized } from '../../../src/io/quantized.ts';
import { loadWeights, saveWeights } from '../../../src/io/weights.ts';
import { Calibrator, calibrationPoints, dequantize, quantizeModel } from '../../../src/model/quantize.ts';
import { normaliseArch } from '../../../src/model/spec.ts';
import { createModel } from '../../../src/model/index.ts';
import { softmaxRow as softmax } from '../../../src/model/postprocess.ts';
import type { Browser } from 'playwright-core';
import { serveFolders } from '../../../web/scripts/static-server.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const CHROMIUM = process.env.ALEXNET_CHROMIUM ?? '/usr/bin/chromium';
const dog = path.resolve(ROOT, '../shared/data/samples/dog.jpg');
const skip = !existsSync(CHROMIUM) ? `SKIP: ${CHROMIUM} missing (apt-get install chromium)` : !existsSync(dog) ? `SKIP: ${dog} missing (../shared/data not present)` : false;
const CLASSES = ['tench', 'springer', 'cassette', 'chainsaw', 'church', 'horn', 'truck', 'pump', 'golf', 'parachute'];

describe('static explorer page in headless Chromium', { skip }, () => {
  let browser: Browser, server: Server, url: string, expected: string, probs: Float32Array, expected16: string, probs16: Float32Array, expected8: string, probs8: Float32Array;

  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-static-'));
    const vite = await import('vite');
    await vite.build({ configFile: path.join(ROOT, 'web', 'vite.config.ts'), root: path.join(ROOT, 'web'), logLevel: 'warn', build: { outDir: path.join(dir, 'site'), emptyOutDir: true } });
    const site = path.join(dir, 'site');
    // fixed random weights of a reduced-width model, and the class Node's fastest backend gives the photo
    const meta = { variant: 'torchvision' as const, classes: 10, classNames: CLASSES, preprocessing: defaultPreprocessing('torchvision'), widthScale: 0.25, hidden: 64 };
    const be = await createBackend('auto');
    const m = await createModel({ ...meta, backend: be, seed: 3 });
    await saveWeights(path.join(site, 'w.safetensors'), await m.stateDict(), meta);
    await saveWeights(path.join(site, 'w16.safetensors'), await m.stateDict(), meta, { dtype: 'F16' });
    const input = await prepareInput(dog, meta.preprocessing);
    const classify = async (tag: string): Promise<[string, Float32Array]> => {
      const logits = await m.forward(input, [1, 3, 224, 224]);
      const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a]), p = softmax(logits, 0, CLASSES.length);
      console.log(`# ${be.name} ${tag}: top-1 ${CLASSES[order[0]]} ${(100 * p[order[0]]).toFixed(2)}%, next ${CLASSES[order[1]]} ${(100 * p[order[1]]).toFixed(2)}%`);
      return [CLASSES[order[0]], p];
    };
    [expected, probs] = await classify('f32 weights');
    // the same model with the f16 file's weights, as Node reads them back
    await m.loadStateDict((await loadWeights(path.join(site, 'w16.safetensors'))).sd);
    [expected16, probs16] = await classify('f16 weights');
    // int8: calibrated on the photo itself (max range), written as the quantize command does
    await m.loadStateDict((await loadWeights(path.join(site, 'w.safetensors'))).sd);
    const arch = normaliseArch(meta), cal = new Calibrator(calibrationPoints(arch, 224));
    await cal.add(m, input, [1, 3, 224, 224]);
    const qw = quantizeModel(await m.stateDict(), arch, cal, { method: 'max' });
    writeFileSync(path.join(site, 'w8.safetensors'), encodeQuantized(qw, meta));
    await m.loadStateDict(dequantize(qw));
    [expected8, probs8] = await classify('int8 weights, dequantised');
    m.dispose();
    cpSync(dog, path.join(site, 'dog.jpg'));
    ({ server, url } = await serveFolders({ '': site }));
    const { chromium } = await import('playwright-core');
    // --enable-unsafe-webgpu gives Chromium's SwiftShader WebGPU adapter headless (no GPU needed);
    // playwright starts each browser on a fresh temporary profile
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  test('a weights URL that does not answer: one clear message naming it, no model', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/index.html?weights=missing.safetensors`);
    await page.waitForSelector('#banner .banner', { timeout: 60_000 });
    assert.match((await page.textContent('#banner')) ?? '', /could not download the weights .*missing\.safetensors: HTTP 404/);
    assert.equal(await page.textContent('[data-testid="backend"]'), 'unavailable');
    await page.close();
  });

  test('a weights URL that is not safetensors (a photo): one clear message naming it', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/index.html?weights=dog.jpg`);
    await page.waitForSelector('#banner .banner', { timeout: 60_000 });
    assert.match((await page.textContent('#banner')) ?? '', /dog\.jpg: not a safetensors file; the page reads safetensors weights/);
    assert.equal(await page.textContent('[data-testid="backend"]'), 'unavailable');
    await page.close();
  });

  test('the f16 file gives the f32 file\'s top-1 in Node', () => {
    assert.equal(expected16, expected, 'f16 rounding of these weights moved the top-1 class');
  });

  for (const [backend, file] of [['webgpu', 'w.safetensors'], ['ref', 'w.safetensors'], ['webgpu', 'w16.safetensors'], ['webgpu', 'w8.safetensors']]) {
    const f16 = file === 'w16.safetensors', i8 = file === 'w8.safetensors';
    test(`?weights=${file}&image=URL${backend === 'ref' ? '&backend=ref' : ''}: top-1 equals Node's, backend ${backend}`, async () => {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(String(e)));
      await page.goto(`${url}/index.html?weights=${file}&image=dog.jpg${backend === 'ref' ? '&backend=ref' : ''}`);
      try {
        await page.waitForSelector('[data-testid="top1"]', { timeout: 240_000 });
      } catch (err) {
        throw new Error(`${(err as Error).message}\npage log:\n${logs.join('\n')}\nbackend: ${await page.textContent('[data-testid="backend"]')}`);
      }
      assert.equal(await page.textContent('[data-testid="backend"]'), backend, logs.join('\n'));
      assert.equal(await page.textContent('[data-testid="top1"]'), i8 ? expected8 : expected);
      assert.match((await page.textContent('#engine-line .adapter')) ?? '', f16 ? /f16 weights/ : i8 ? /i8 weights/ : /f32 weights/);
      const want = f16 ? probs16 : i8 ? probs8 : probs;
      // every shown probability (one decimal) is Node's for that class: the page's canvas resize differs
      // from sharp's only by a fraction of a grey level on average, far below this model's class margins
      const names = await page.locator('#top5 .pred-name').allTextContents(), ps = await page.locator('#top5 .pred-p').allTextContents();
      assert.equal(names.length, 5);
      names.forEach((n, i) => assert.ok(Math.abs(parseFloat(ps[i]) - 100 * want[CLASSES.indexOf(n)]) < 0.15, `${n}: page ${ps[i]}, node ${(100 * want[CLASSES.indexOf(n)]).toFixed(2)}%`));
      // the same sections as the served page: architecture blocks, conv1 filters, activation maps
      assert.ok(await page.locator('.arch-item').count() > 5, 'architecture drawn');
      assert.ok(await page.locator('canvas.filter-grid').count() >= 1, 'filters drawn');
      assert.equal(await page.locator('.layer-maps').count(), 5, 'activation maps of the 5 conv layers');
      await page.close();
    });
  }
});
