// End to end in real headless Chromium: the explorer page against a live server with small weights.
// Skips (saying why) when /usr/bin/chromium or ../shared/data/samples is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { smallWeights, SAMPLES, CLASS_NAMES } from './helpers.ts';
import { startExplorer } from './server.ts';
import { ensureWebBuilt } from '../../src/server/web.ts';

const CHROMIUM = process.env.ALEXNET_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'test-output');
const dog = path.join(SAMPLES, 'dog.jpg');
const skip = !existsSync(CHROMIUM) ? `SKIP: ${CHROMIUM} missing (apt-get install chromium)` : !existsSync(dog) ? `SKIP: ${dog} missing (../shared/data not present)` : undefined;

let browser: Browser | undefined, app: FastifyInstance | undefined, url = '', logFile = '', via = '';

before(async () => {
  if (skip) return;
  assert.ok(await ensureWebBuilt(), 'web/dist could not be built (npm run build:web)');
  const { dir, file } = await smallWeights();
  const runDir = path.join(dir, 'run');
  mkdirSync(runDir);
  logFile = path.join(runDir, 'log.jsonl');
  // records as src/train/trainer.ts writes them
  const lines: object[] = [{ type: 'start', config: { variant: 'paper', epochs: 5 }, images: 300 }];
  for (let s = 1; s <= 30; s++) {
    lines.push({ type: 'step', epoch: Math.floor((s - 1) / 10), step: s, loss: 2.3 - s * 0.03, lr: s > 20 ? 0.001 : 0.01 });
    if (s % 10 === 0) lines.push({ type: 'epoch', epoch: s / 10 - 1, step: s, trainLoss: 2.3 - s * 0.03, valTop1: 0.02 * s, valTop5: 0.3 + 0.02 * s, lr: 0.01 });
  }
  writeFileSync(logFile, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  ({ app, url, via } = await startExplorer(file, runDir));
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-gpu'],
  });
});

after(async () => {
  await browser?.close();
  await app?.close();
});

/** Variance of a canvas' RGB values, read back from the page (0 = blank). */
const canvasVariance = (page: Page, selector: string) => page.$$eval(selector, (els) => (els as HTMLCanvasElement[]).map((c) => {
  const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
  let s = 0, s2 = 0, n = 0;
  for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) { s += d[i + k]; s2 += d[i + k] ** 2; n++; }
  const m = s / n;
  return s2 / n - m * m;
}));

test('explorer page: architecture, filters, upload, top-5, activation maps, errors, training, narrow screen', { skip, timeout: 120_000 }, async (t) => {
  t.diagnostic(`explorer served by ${via} at ${url}`);
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);

  // architecture: one block per summary row, details on click and on keyboard Enter
  await page.waitForSelector('#architecture .body[data-state=ready]');
  assert.equal(await page.locator('.arch-table tbody tr').count(), 22);
  await page.locator('button.arch-item', { hasText: 'fc6' }).focus();
  await page.keyboard.press('Enter');
  assert.match(await page.locator('.arch-details h3').innerText(), /fc6/);
  assert.match(await page.locator('.arch-details').innerText(), /2304×64|64×2304/);

  // filters: two groups (paper variant) drawn as non-blank canvases
  await page.waitForSelector('#filters .body[data-state=ready]');
  const fv = await canvasVariance(page, 'canvas.filter-grid');
  assert.equal(fv.length, 2, 'paper variant shows the two GPU groups side by side');
  for (const v of fv) assert.ok(v > 100, `filter grid looks blank (variance ${v})`);

  // upload the dog photo: crop, top-5 with class names, maps of all five conv layers
  await page.setInputFiles('#file', dog);
  await page.waitForSelector('#top5 li');
  const preds = await page.locator('#top5 .pred-name').allInnerTexts();
  assert.equal(preds.length, 5);
  for (const p of preds) assert.ok(CLASS_NAMES.includes(p), `unexpected class ${p}`);
  const crop = await canvasVariance(page, 'canvas.crop');
  assert.ok(crop[0] > 100, 'the preprocessed crop is blank');
  const layers = await page.locator('.layer-maps').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.layer));
  assert.deepEqual(layers, ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']);
  const maps = await canvasVariance(page, 'canvas.amap');
  assert.equal(maps.length, 5 * 16);
  const nonBlank = maps.filter((v) => v > 1).length;
  assert.ok(nonBlank >= maps.length * 0.9, `only ${nonBlank} of ${maps.length} activation maps have content`);
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, 'web-e2e.png'), fullPage: true });

  // a map opens enlarged over the crop; Escape closes it
  await page.locator('.layer-maps[data-layer=conv2] button.amap-cell').first().click();
  await page.waitForSelector('dialog#zoom[open]');
  const zoomed = await canvasVariance(page, 'dialog#zoom canvas');
  assert.equal(zoomed.length, 3);
  for (const v of zoomed) assert.ok(v > 1, 'a zoomed canvas is blank');
  await page.screenshot({ path: path.join(OUT, 'web-e2e-zoom.png') });
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog#zoom', { state: 'detached' });

  // an invalid file: the server's reason shows in the banner, and the previous result stays
  await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('this is not an image') });
  await page.waitForSelector('#banner .banner');
  assert.match(await page.locator('#banner').innerText(), /could not be read as an image/);
  assert.equal(await page.locator('#top5 li').count(), 5, 'the page blanked out after an error');

  // training curves: drawn, and live when the log grows
  await page.waitForSelector('#training .body[data-state=ready]');
  assert.match(await page.locator('.run-info').innerText(), /34 log entries · paper variant · 300 training images · step 30 · 3 of 5 epochs done · val top-1 60\.0%, top-5 90\.0%/);
  for (const v of await canvasVariance(page, '#training canvas')) assert.ok(v > 1, 'a training chart is blank');
  appendFileSync(logFile, JSON.stringify({ type: 'step', epoch: 3, step: 31, loss: 1.2, lr: 0.001 }) + '\n');
  await page.waitForFunction(() => /35 log entries.*step 31/.test(document.querySelector('.run-info')?.textContent ?? ''), undefined, { timeout: 15_000 });

  // a sample button works from the keyboard
  await page.locator('button.sample[data-sample="cat.jpg"]').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /cat\.jpg: done/.test(document.getElementById('try-status')?.textContent ?? ''), undefined, { timeout: 30_000 });

  // narrow screen: nothing wider than the viewport
  await page.setViewportSize({ width: 390, height: 800 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 390, `page is ${overflow}px wide on a 390px screen`);
  await page.screenshot({ path: path.join(OUT, 'web-e2e-narrow.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
  await page.close();
});
