// Page-level WebGPU bench in headless Chromium (web/bench.html): the same weights on our WebGPU backend
// and on onnxruntime-web's WebGPU provider (running our exported ONNX), side by side on the browser's
// adapter, plus our conv2 alone. Headless Chromium without a GPU gives SwiftShader (a CPU), so figures
// compare the two engines' WGSL on one software adapter, not GPU speed. Stops after --timeout seconds.
//   node --import tsx bench/webgpu-page.ts [--variant torchvision|paper] [--width 0.25] [--batch 1] [--reps 2] [--timeout 55] [--gpu]
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultPreprocessing } from '../src/data/preprocess.ts';
import { exportOnnx } from '../src/io/onnx.ts';
import { saveWeights } from '../src/io/weights.ts';
import { createModel } from '../src/model/index.ts';
import { serveFolders } from '../web/scripts/static-server.ts';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', default: 'torchvision' }, width: { type: 'string', default: '0.25' }, batch: { type: 'string', default: '1' },
    reps: { type: 'string', default: '2' }, timeout: { type: 'string', default: '55' }, gpu: { type: 'boolean', default: false },
  },
});
const ROOT = path.resolve(import.meta.dirname, '..');
const CHROMIUM = process.env.ALEXNET_CHROMIUM ?? '/usr/bin/chromium';
const ORT = path.join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing (apt-get install chromium)`);

const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-page-bench-'));
const vite = await import('vite');
await vite.build({ configFile: path.join(ROOT, 'web', 'vite.config.ts'), root: path.join(ROOT, 'web'), logLevel: 'warn', build: { outDir: path.join(dir, 'site'), emptyOutDir: true } });
const variant = values.variant === 'paper' ? 'paper' : 'torchvision', widthScale = Number(values.width);
const meta = { variant, classes: 1000, classNames: Array.from({ length: 1000 }, (_, i) => `class ${i}`), preprocessing: defaultPreprocessing(variant), widthScale } as const;
const m = await createModel({ variant, classes: 1000, widthScale, backend: 'ref', seed: 1 });
const sd = await m.stateDict();
m.dispose();
await saveWeights(path.join(dir, 'site', 'w.safetensors'), sd, { ...meta, classNames: [...meta.classNames] });
writeFileSync(path.join(dir, 'site', 'w.onnx'), exportOnnx(sd, { ...meta, classNames: [...meta.classNames] }, { softmax: false }));
const { server, url } = await serveFolders({ '': path.join(dir, 'site'), ort: ORT });

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true,
  args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...(values.gpu ? ['--enable-features=Vulkan', '--use-angle=vulkan'] : [])],
});
try {
  const page = await browser.newPage();
  const ort = existsSync(path.join(ORT, 'ort.webgpu.min.mjs')) ? `&ort=${encodeURIComponent(`${url}/ort`)}&onnx=w.onnx` : '';
  await page.goto(`${url}/bench.html?weights=w.safetensors&batch=${values.batch}&reps=${values.reps}${ort}`);
  await page.waitForSelector('#out[data-done="1"]', { timeout: 1000 * Number(values.timeout) });
  const r = JSON.parse((await page.textContent('#out')) ?? '{}');
  if (r.error) throw new Error(r.error);
  const B = Number(values.batch), ips = (t?: { ms: number }) => (t ? ((1000 * B) / t.ms).toFixed(3) : '-');
  console.log(`AlexNet ${variant} width x${widthScale}, batch ${B}, median of ${values.reps} after a warm-up, in headless Chromium on ${r.adapter}`);
  console.log(`forward img/s: ours (webgpu) ${ips(r.oursForward)}  onnxruntime-web (webgpu) ${ips(r.ortForward)}${r.ortForward ? `  ours/ort ${(r.ortForward.ms / r.oursForward.ms).toFixed(2)}x` : ''}`);
  if (r.oursConv2) console.log(`conv2 alone (ours): ${r.oursConv2.gflops.toFixed(2)} GFLOP/s`);
  if (r.maxLogitDiff !== undefined) console.log(`max |logit difference| ours vs onnxruntime-web: ${r.maxLogitDiff.toExponential(2)}`);
  console.log(JSON.stringify(r));
} finally {
  await browser.close();
  server.close();
}
