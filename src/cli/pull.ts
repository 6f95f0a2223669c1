// alexnet pull torchvision | alexnet pull URL --sha256 HEX [--name N]: download, verify, convert, cache.
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import path from 'node:path';
import { PRETRAINED, checkName, imagenetClassNames, pullWeights } from '../io/hub.ts';
import type { DownloadEvents } from '../io/download.ts';
import { formatBytes } from '../util/atomic-write.ts';
import { formatEta } from '../train/progress.ts';
import { choice, PROGRESS } from './cli-opts.ts';
import { readLabels } from './convert.ts';

/** A byte progress bar (cli-progress) on a terminal; a line every few seconds otherwise. */
export function byteProgress(label: string, mode: 'auto' | 'bar' | 'lines' | 'quiet' = 'auto'): DownloadEvents & { stop(): void } {
  if (mode === 'quiet') return { stop() {} };
  const mb = (n: number) => (n / 1e6).toFixed(1);
  let t0 = 0, first = 0, last = 0;
  const rate = (done: number) => (done - first) / Math.max(1e-3, (Date.now() - t0) / 1000);
  const fields = (done: number, total: number | undefined) => {
    const r = rate(done);
    return { done: mb(done), size: total !== undefined ? mb(total) : '?', speed: (r / 1e6).toFixed(2), eta: total !== undefined ? formatEta((total - done) / Math.max(1, r)) : '?' };
  };
  if (mode === 'bar' || (mode === 'auto' && process.stderr.isTTY)) {
    let bar: cliProgress.SingleBar | undefined;
    return {
      onProgress(done, total) {
        if (!bar) {
          t0 = Date.now(); first = done;
          bar = new cliProgress.SingleBar({ format: `${label} |{bar}| {percentage}% | {done}/{size} MB | {speed} MB/s | ETA {eta}`, stream: process.stderr, hideCursor: true, barsize: 24, fps: 5 }, cliProgress.Presets.shades_classic);
          bar.start(total ?? 0, done, fields(done, total));
        }
        if (total !== undefined) bar.setTotal(total);
        bar.update(done, fields(done, total));
      },
      onNote(msg) { if (bar) process.stderr.write(`\r\x1b[K${msg}\n`); else console.error(msg); },
      stop() { bar?.stop(); bar = undefined; },
    };
  }
  return {
    onProgress(done, total) {
      const now = Date.now();
      if (!t0) { t0 = now; first = done; last = now; if (done > 0) console.error(`${label}: resuming at ${mb(done)} MB`); return; }
      if (now - last < 5000 && done !== total) return;
      last = now;
      const f = fields(done, total);
      console.error(`${label}: ${f.done}/${f.size} MB, ${f.speed} MB/s, ETA ${f.eta}`);
    },
    onNote(msg) { console.error(msg); },
    stop() { t0 = 0; },
  };
}

interface PullOpts { sha256?: string; name?: string; file?: string; labels?: string; force?: boolean; progress?: 'auto' | 'bar' | 'lines' | 'quiet' }

export async function pull(source: string | undefined, o: PullOpts): Promise<string> {
  const isUrl = source !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
  if (source === undefined && !(o.name && o.file)) throw new Error('give a name (torchvision), a URL with --sha256 HEX, or --name N --sha256 HEX --file PATH');
  if (isUrl && !/^https?:\/\//i.test(source!)) throw new Error(`${source}: only http(s) URLs can be pulled; use --file PATH for a local file`);
  if (!isUrl && source !== undefined && !Object.hasOwn(PRETRAINED, source)) {
    throw new Error(`unknown weights name ${JSON.stringify(source)} (known: ${Object.keys(PRETRAINED).join(', ')}); pull any other file by URL: alexnet pull URL --sha256 HEX [--name N]`);
  }
  const name = checkName(o.name ?? (isUrl ? path.basename(new URL(source!).pathname).replace(/\.[^.]*$/, '') || 'weights' : source ?? ''));
  const known = !isUrl && source !== undefined;
  if (known && o.sha256) throw new Error(`${source} has a pinned sha256; --sha256 is for URLs`);
  const classNames = o.labels === 'imagenet' ? imagenetClassNames() : o.labels ? await readLabels(o.labels) : undefined;
  if (known && classNames) throw new Error(`${source} comes with the ImageNet class names; --labels is for URLs`);
  const label = known ? PRETRAINED[source!].file : path.basename(isUrl ? new URL(source!).pathname : o.file!);
  if (known && !o.file) console.error(`pulling ${PRETRAINED[source!].about}: ${formatBytes(PRETRAINED[source!].bytes)}`);
  const bar = byteProgress(label, o.progress);
  try {
    const r = await pullWeights({ name, url: isUrl ? source : undefined, sha256: o.sha256, file: o.file, classNames, force: o.force }, bar);
    bar.stop();
    const p = r.meta.preprocessing;
    const what = `${r.meta.variant} AlexNet, ${r.meta.classes} classes, resize ${p.resize} crop ${p.crop}`;
    return r.already ? `${name}: already pulled (${r.dest}: ${what}); --force pulls it again\nuse it with --weights ${name}`
      : `${name}: verified sha256 and stored ${r.dest} (${what})\nuse it with --weights ${name}`;
  } finally {
    bar.stop();
  }
}

export function declare(program: Command): Command {
  return program.command('pull')
    .description('download pretrained weights, verify the sha256, convert to safetensors into the cache ($ALEXNET_HOME/weights, default ~/.cache/alexnet-ts); then use --weights NAME')
    .argument('[source]', `a known name (${Object.keys(PRETRAINED).join(', ')}) or an http(s) URL of a .pth / .safetensors / .onnx file`);
}

export function configure(cmd: Command): void {
  cmd
    .option('--sha256 <hex>', 'full sha256 of the file (required for a URL)')
    .option('--name <name>', 'store as <name>.safetensors (default: the URL file name without extension)')
    .option('--file <path>', 'use this local copy instead of downloading (verified the same way)')
    .option('--labels <file>', "class names for a URL's file, one per line, or 'imagenet' for the 1000 ImageNet classes")
    .option('--force', 'pull again even if the cache has it')
    .addOption(choice('--progress <mode>', 'progress display', PROGRESS, 'auto'))
    .addHelpText('after', '\nThe hub base URL is $ALEXNET_HUB (default https://download.pytorch.org); torchvision is fetched from $ALEXNET_HUB/models/alexnet-owt-7be5be79.pth.')
    .action(async (source: string | undefined, o: PullOpts) => {
      console.log(await pull(source, o));
    });
}
