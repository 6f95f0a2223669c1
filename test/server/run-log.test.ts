// The run log is read once and shared: LogTail's offsets, resets and bounded window, and many clients of
// /v1/run/log and /v1/run/events on a large log seeing the same records with bounded memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { LogTail, pieces } from '../../src/server/run-log.ts';
import { registerWebRoutes } from '../../src/server/web.ts';
import { mockModel } from '../web/mock-model.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'alexnet-log-'));
const steps = (s: { lines: readonly string[]; from: number; to: number }) => s.lines.slice(s.from, s.to).map((l) => JSON.parse(l).step as number);

test('LogTail: whole lines only, since=offset, corrupt lines skipped, each line parsed once', async () => {
  const dir = tmp(), f = path.join(dir, 'log.jsonl');
  try {
    const t = new LogTail(f);
    await t.refresh();
    assert.equal(t.exists, false);
    writeFileSync(f, '{"step":1}\n{"step":2}\nnot json\n{"st');
    await t.refresh();
    const a = t.since(0);
    assert.deepEqual(steps(a), [1, 2]);
    assert.equal(a.offset, '{"step":1}\n{"step":2}\nnot json\n'.length);
    appendFileSync(f, 'ep":3}\n');
    await Promise.all([t.refresh(), t.refresh(), t.refresh()]); // concurrent refreshes share one read
    assert.deepEqual(steps(t.since(a.offset)), [3]);
    assert.deepEqual(steps(t.since(11)), [2, 3]); // from the end of record 1
    for (let i = 0; i < 5; i++) { t.since(0); await t.refresh(); }
    assert.equal(t.parsedLines, 4); // three records and the corrupt line, each parsed once
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('LogTail: a shorter, replaced or rewritten file is a new log (reset); a line longer than a chunk is skipped', async () => {
  const dir = tmp(), f = path.join(dir, 'log.jsonl');
  try {
    const t = new LogTail(f, { chunkBytes: 64 });
    const seen: { reset: boolean; steps: number[] }[] = [];
    const off = t.subscribe((b) => seen.push({ reset: b.reset, steps: steps(b) }));
    writeFileSync(f, '{"step":1}\n{"step":2}\n');
    await t.refresh();
    writeFileSync(f, '{"step":7}\n{"step":8}\n'); // same size, other content
    await t.refresh();
    writeFileSync(f, '{"step":9}\n'); // shorter
    await t.refresh();
    writeFileSync(`${f}.new`, '{"step":5}\n{"step":6}\n{"step":6}\n');
    const { renameSync } = await import('node:fs');
    renameSync(`${f}.new`, f); // replaced (another inode)
    await t.refresh();
    assert.deepEqual(seen, [{ reset: false, steps: [1, 2] }, { reset: true, steps: [7, 8] }, { reset: true, steps: [9] }, { reset: true, steps: [5, 6, 6] }]);
    assert.equal(t.since(1e9).reset, true); // a client's offset from an older, longer log
    appendFileSync(f, `{"step":10,"pad":"${'x'.repeat(200)}"}\n{"step":11}\n`);
    await t.refresh();
    assert.deepEqual(steps(t.since(0)), [5, 6, 6, 11]);
    off();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('LogTail: the kept history is bounded; answers say truncated; pieces carry their own offsets', async () => {
  const dir = tmp(), f = path.join(dir, 'log.jsonl');
  try {
    const line = (i: number) => `{"step":${100000 + i}}`; // 15 bytes + newline
    writeFileSync(f, Array.from({ length: 5000 }, (_, i) => line(i) + '\n').join(''));
    const t = new LogTail(f, { maxBytes: 15 * 1000 });
    await t.refresh();
    const s = t.since(0);
    assert.equal(t.records, 1000);
    assert.equal(s.truncated, true);
    assert.deepEqual(steps(s).slice(0, 2), [104000, 104001]);
    const ps = [...pieces(s, 300)];
    assert.equal(ps.length, 4);
    assert.equal(ps[0].offset, 4300 * 16);
    assert.deepEqual(steps(t.since(ps[0].offset)).slice(0, 1), [104300]);
    assert.equal(t.since(4500 * 16).truncated, false);
    assert.equal(t.since(3999 * 16).truncated, true);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

/** GET as a stream: sha256 of the bytes, without keeping them; an SSE stream is read until `until` arrives. */
function fetchHashed(url: string, until?: string): Promise<{ hash: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0, tailText = '';
    const req = http.get(url, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        bytes += d.length; h.update(d);
        if (until === undefined) return;
        tailText = (tailText + d).slice(-until.length - 8);
        if (tailText.includes(until)) { req.destroy(); resolve({ hash: h.digest('hex'), bytes }); }
      });
      res.on('end', () => resolve({ hash: h.digest('hex'), bytes }));
    });
    req.on('error', (e) => { if (until === undefined) reject(e); });
  });
}

/** Entries of every `log` event of an SSE text. */
function sseEntries(text: string): { step: number }[] {
  const out: { step: number }[] = [];
  for (const ev of text.split('\n\n')) {
    const m = /^event: log\ndata: (.*)$/s.exec(ev);
    if (m) out.push(...(JSON.parse(m[1]).entries as { step: number }[]));
  }
  return out;
}

test('20 /v1/run/log and 20 /v1/run/events clients on a 15 MB log: the same records, bounded memory', { timeout: 120_000 }, async () => {
  const dir = tmp(), runDir = path.join(dir, 'run'), f = path.join(runDir, 'log.jsonl');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(runDir);
  const N = 200_000;
  const lines: string[] = [];
  for (let i = 0; i < N; i++) lines.push(`{"type":"step","epoch":${(i / 1000) | 0},"step":${i},"loss":${(2.3 - i * 1e-5).toFixed(6)},"lr":0.01,"ips":512.25}`);
  const text = lines.join('\n') + '\n';
  writeFileSync(f, text);
  const app = Fastify();
  await registerWebRoutes(app, { ...mockModel(), runDir });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const firstText = await (await fetch(`${url}/v1/run/log`)).text();
    const first = JSON.parse(firstText);
    assert.equal(first.entries.length, N);
    assert.deepEqual(first.entries.map((e: { step: number }) => e.step), lines.map((_, i) => i));
    const end = `"offset":${text.length},"reset":false}`;
    const sse = await new Promise<string>((resolve) => {
      let got = '';
      const req = http.get(`${url}/v1/run/events`, (res) => { res.setEncoding('utf8'); res.on('data', (d: string) => { got += d; if (got.includes(end)) { req.destroy(); resolve(got); } }); });
      req.on('error', () => {});
    });
    assert.deepEqual(sseEntries(sse).map((e) => e.step), lines.map((_, i) => i));
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
    const [logs, events] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => fetchHashed(`${url}/v1/run/log`))),
      Promise.all(Array.from({ length: 20 }, () => fetchHashed(`${url}/v1/run/events`, end))),
    ]);
    clearInterval(sampler);
    const grown = (peak - rss0) / 1e6;
    assert.equal(new Set(logs.map((l) => l.hash)).size, 1, 'every /v1/run/log client got the same bytes');
    assert.equal(logs[0].hash, createHash('sha256').update(firstText).digest('hex'));
    assert.equal(new Set(events.map((l) => l.hash)).size, 1, 'every /v1/run/events client got the same bytes');
    assert.equal(events[0].hash, createHash('sha256').update(sse).digest('hex'));
    assert.ok(grown < 250, `RSS peak grew ${grown.toFixed(0)} MB serving a ${(text.length / 1e6).toFixed(0)} MB log to 40 clients`);
    console.log(`# RSS peak +${grown.toFixed(0)} MB for 40 clients of a ${(text.length / 1e6).toFixed(0)} MB log`);
  } finally { await app.close(); rmSync(dir, { recursive: true, force: true }); }
});
