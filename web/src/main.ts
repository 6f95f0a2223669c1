// The explorer page: four independent sections; one failing never blanks out the others.
// Served by `alexnet serve` it asks the server; opened with ?weights=URL (any static host) it runs the
// model in this browser: WebGPU where there is an adapter, else the ref backend, both in a Web Worker.
// ?backend=ref|webgpu forces one; ?image=URL classifies that image once the model is ready.
import './style.css';
import { section, showError } from './ui.ts';
import { renderArchitecture } from './arch.ts';
import { renderFilters } from './filters.ts';
import { classifyUrl, setupTry } from './try.ts';
import { renderTraining } from './training.ts';
import { setSource, source } from './source.ts';
import { localSource } from './local/client.ts';

window.addEventListener('unhandledrejection', (e) => showError('Page', e.reason));
window.addEventListener('error', (e) => showError('Page', e.error ?? e.message));

const q = new URLSearchParams(location.search);
const weights = q.get('weights');
const backendEl = document.querySelector<HTMLElement>('[data-testid="backend"]')!;
const engineLine = document.getElementById('engine-line')!;
if (weights) {
  const prefer = q.get('backend');
  if (prefer !== null && prefer !== 'ref' && prefer !== 'webgpu' && prefer !== 'auto') showError('Page', new Error(`?backend=${prefer}: expected webgpu, ref or auto`));
  const s = localSource(weights, prefer === 'ref' || prefer === 'webgpu' ? prefer : 'auto', (t) => { engineLine.dataset.progress = t; backendEl.textContent = t; });
  setSource(s);
  document.querySelector('footer')!.textContent = `alexnet-ts · the model runs in this browser · weights: ${weights}`;
  s.ready.then((l) => {
    engineLine.title = l.note ? `WebGPU unavailable: ${l.note}` : '';
    const where = l.backend === 'webgpu' ? ` on ${l.adapter}` : l.note ? ' (no WebGPU here, running on the CPU in a worker)' : ' (CPU, in a worker)';
    engineLine.querySelector('.adapter')!.textContent = `${where} · ${l.dtype.toLowerCase()} weights, ${(l.bytes / 1e6).toFixed(1)} MB`;
  }, (err) => showError('Model', err)); // the backend line below then says 'unavailable'
}
void source().backend().then((b) => { backendEl.textContent = b; }, () => { backendEl.textContent = 'unavailable'; });

void section('architecture', 'Architecture', async (b) => { await renderArchitecture(b); });
void section('filters', 'Filters', renderFilters);
void setupTry();
if (source().kind === 'server') void section('training', 'Training', renderTraining);
else void section('training', 'Training', async (b) => { b.replaceChildren(Object.assign(document.createElement('p'), { className: 'muted', textContent: 'Training curves come from a run folder: open this page through `alexnet serve --run DIR`.' })); });
const image = q.get('image');
if (image) void classifyUrl(image);
