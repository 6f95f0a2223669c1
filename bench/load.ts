// Load test for `alexnet serve` on loopback: requests/s and p50/p99 latency at 1, 8 and 64 concurrent
// clients (a hand loop over fetch; each level stops after --seconds or --max requests, whichever first).
//   node --import tsx bench/load.ts                       # full-size torchvision AlexNet (random init), spawned server
//   node --import tsx bench/load.ts --weights W.safetensors [--backend native] [--image x.jpg]
//   node --import tsx bench/load.ts --url http://127.0.0.1:8080   # an already running server
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values: a } = parseArgs({
  options: {
    url: { type: 'string' }, weights: { type: 'string' }, backend: { type: 'string', default: 'auto' }, image: { type: 'string' },
    seconds: { type: 'string', default: '8' }, max: { type: 'string', default: '2000' }, levels: { type: 'string', default: '1,8,64' },
    batch: { type: 'string', default: '16' }, 'batch-wait': { type: 'string', default: '5' }, width: { type: 'string' },
  },
});

async function weightsFile(dir: string): Promise<string> {
  if (a.weights) return a.weights;
  const { createModel } = await import('../src/model/index.ts');
  const { saveWeights } = await import('../src/io/weights.ts');
  const { defaultPreprocessing } = await import('../src/data/preprocess.ts');
  const widthScale = a.width ? Number(a.width) : 1;
  const m = await createModel({ variant: 'torchvision', backend: 'ref', seed: 1, widthScale });
  const file = join(dir, 'bench.safetensors');
  await saveWeights(file, await m.stateDict(), {
    variant: 'torchvision', classes: 1000, classNames: Array.from({ length: 1000 }, (_, i) => `class_${i}`),
    preprocessing: defaultPreprocessing('torchvision'), ...(widthScale !== 1 ? { widthScale } : {}),
  });
  m.dispose();
  return file;
}

async function startServer(file: string): Promise<{ url: string; child: ChildProcess }> {
  const bin = fileURLToPath(new URL('../bin/alexnet.mjs', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', '--weights', file, '--port', '0', '--backend', a.backend!, '--batch', a.batch!, '--batch-wait', a['batch-wait']!],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ALEXNET_QUIET: '1' } });
  let out = '';
  const url = await new Promise<string>((res, rej) => {
    child.stdout!.on('data', (d) => { out += d; const m = /listening on (http:\/\/\S+)/.exec(out); if (m) res(m[1]); });
    child.on('exit', (c) => rej(new Error(`server exited (${c}): ${out}`)));
  });
  console.log(out.trim());
  return { url, child };
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function level(url: string, body: Uint8Array, clients: number, seconds: number, max: number) {
  const lat: number[] = [];
  let errors = 0, issued = 0;
  const statuses = new Map<number, number>();
  const t0 = performance.now(), stopAt = t0 + seconds * 1000;
  const client = async () => {
    while (performance.now() < stopAt && issued < max) {
      issued++;
      const s = performance.now();
      const r = await fetch(`${url}/v1/classify?top=5`, { method: 'POST', body: body as unknown as BodyInit, headers: { 'content-type': 'image/jpeg' } });
      await r.arrayBuffer();
      if (r.status === 200) lat.push(performance.now() - s);
      else { errors++; statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1); }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  return { clients, requests: lat.length, errors, statuses, rps: lat.length / wall, p50: pct(lat, 50), p99: pct(lat, 99), wall };
}

const dir = mkdtempSync(join(tmpdir(), 'alexnet-load-'));
let child: ChildProcess | undefined;
try {
  let url = a.url;
  if (!url) ({ url, child } = await startServer(await weightsFile(dir)));
  const sample = a.image ?? '../shared/data/samples/dog.jpg';
  const body = existsSync(sample) ? new Uint8Array(readFileSync(sample))
    : new Uint8Array(await sharp({ create: { width: 500, height: 375, channels: 3, background: { r: 120, g: 80, b: 40 } } }).jpeg().toBuffer());
  const model = await (await fetch(`${url}/v1/model`)).json() as { variant: string; backend: string; paramCount: number };
  await level(url, body, 2, 1, 4); // warm-up
  console.log(`\n${model.variant} AlexNet (${model.paramCount.toLocaleString()} params), backend ${model.backend}, image ${body.length} bytes, POST /v1/classify`);
  console.log('clients  requests  errors   req/s    p50 ms    p99 ms  batches(avg size)');
  for (const c of a.levels!.split(',').map(Number)) {
    const h0 = await (await fetch(`${url}/healthz`)).json() as { forwards: number; items: number };
    const r = await level(url, body, c, Number(a.seconds), Number(a.max));
    const h1 = await (await fetch(`${url}/healthz`)).json() as { forwards: number; items: number };
    const fw = h1.forwards - h0.forwards, avg = fw ? (h1.items - h0.items) / fw : 0;
    console.log(`${String(c).padStart(7)} ${String(r.requests).padStart(9)} ${String(r.errors).padStart(7)} ${r.rps.toFixed(1).padStart(7)} ${r.p50.toFixed(1).padStart(9)} ${r.p99.toFixed(1).padStart(9)}  ${fw} (${avg.toFixed(1)})${r.errors ? '  errors by status: ' + [...r.statuses].map(([k, v]) => `${k}x${v}`).join(' ') : ''}`);
  }
} finally {
  if (child) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.on('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
}
