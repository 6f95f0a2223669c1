// Progress reporting: a cli-progress bar on a terminal, plain periodic lines otherwise (nohup logs).
import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number, label: string): void;
  update(done: number, fields: Record<string, string | number>): void;
  stop(): void;
  log(msg: string): void;
}

export function formatEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** quiet: nothing at all (tests). */
export function makeProgress(mode: 'auto' | 'bar' | 'lines' | 'quiet' = 'auto'): Progress {
  const useBar = mode === 'bar' || (mode === 'auto' && process.stderr.isTTY);
  if (mode === 'quiet') return { start() {}, update() {}, stop() {}, log() {} };
  if (useBar) {
    let bar: cliProgress.SingleBar | null = null;
    return {
      start(total, label) {
        bar = new cliProgress.SingleBar({
          format: `${label} |{bar}| {value}/{total} | {ips} img/s | loss {loss} | lr {lr} | ETA {eta_formatted}`,
          stream: process.stderr, hideCursor: true, barsize: 24, etaBuffer: 50, fps: 5,
        }, cliProgress.Presets.shades_classic);
        bar.start(total, 0, { ips: '-', loss: '-', lr: '-' });
      },
      update(done, fields) { bar?.update(done, fields); },
      stop() { bar?.stop(); bar = null; },
      log(msg) { if (bar) process.stderr.write(`\r\x1b[K${msg}\n`); else console.error(msg); },
    };
  }
  let t0 = 0, last = 0, total = 0, name = '';
  return {
    start(n, label) { total = n; name = label; t0 = last = Date.now(); },
    update(done, f) {
      const now = Date.now();
      if (now - last < 30000 && done < total) return;
      last = now;
      const eta = ((now - t0) / 1000 / Math.max(1, done)) * (total - done);
      console.error(`${name} ${done}/${total} | ${f.ips ?? '-'} img/s | loss ${f.loss ?? '-'} | lr ${f.lr ?? '-'} | ETA ${formatEta(eta)}`);
    },
    stop() {},
    log(msg) { console.error(msg); },
  };
}
