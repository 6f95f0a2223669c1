// Takes the README screenshots of the explorer page in headless Chromium:
//   node --import tsx web/scripts/screenshots.ts --weights W [--run RUN_DIR] [--image IMG] [--out docs/screenshots]
// Writes explorer-desktop.png (whole page, 1280 wide), explorer-try.png (the image section) and explorer-narrow.png
// (390 wide, first screens), each palette-quantised to stay small.
import { parseArgs } from 'node:util';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import Fastify from 'fastify';
import { chromium, type Page } from 'playwright-core';
import { registerWebRoutes, ensureWebBuilt } from '../../src/server/web.ts';
import { modelFromWeights } from '../../src/viz/load.ts';

const { values: a } = parseArgs({ options: { weights: { type: 'string' }, run: { type: 'string' }, image: { type: 'string' }, out: { type: 'string', default: 'docs/screenshots' }, backend: { type: 'string', default: 'auto' } } });
if (!a.weights) throw new Error('usage: screenshots.ts --weights W [--run RUN_DIR] [--image IMG] [--out DIR]');
const image = a.image ?? path.resolve(import.meta.dirname, '../../../shared/data/samples/dog.jpg');
if (!(await ensureWebBuilt())) throw new Error('web/dist missing and could not be built');
const { model, meta } = await modelFromWeights(a.weights, a.backend as 'auto');
const app = Fastify();
await registerWebRoutes(app, { model, meta, runDir: a.run });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-gpu'] });
mkdirSync(a.out!, { recursive: true });

async function save(buf: Buffer, name: string, width: number): Promise<void> {
  const file = path.join(a.out!, name);
  let colours = 256;
  for (;;) {
    await sharp(buf).resize({ width, withoutEnlargement: true }).png({ palette: true, colours, effort: 10, compressionLevel: 9 }).toFile(file);
    if (statSync(file).size < 300 * 1024 || colours <= 32) break;
    colours /= 2;
  }
  console.log(`${file}  ${(statSync(file).size / 1024).toFixed(0)} KB`);
}

async function load(page: Page): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#filters .body[data-state=ready]');
  await page.setInputFiles('#file', image);
  await page.waitForSelector('#top5 li');
  await page.waitForSelector('#training .body:not([data-state=loading])');
  await page.waitForTimeout(400);
}

const desk = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
await load(desk);
await desk.locator('button.arch-item', { hasText: 'conv2' }).click();
await save(await desk.screenshot({ fullPage: true }), 'explorer-desktop.png', 1280);
await save(await desk.locator('#try').screenshot(), 'explorer-try.png', 1180);
const narrow = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
await load(narrow);
await narrow.evaluate(() => document.getElementById('try')!.scrollIntoView());
await save(await narrow.screenshot(), 'explorer-narrow.png', 780);
await browser.close();
await app.close();
model.dispose();
