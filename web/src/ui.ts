// Small DOM helpers, the error banner and number formatting.

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'style' && typeof v === 'object') for (const [sk, sv] of Object.entries(v as Record<string, string>)) el.style.setProperty(sk.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`), sv);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k in el && typeof v !== 'string') (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Shows an error in the banner (deduplicated by text); the section stays as it was. */
export function showError(where: string, err: unknown): void {
  const banner = document.getElementById('banner')!;
  const msg = `${where}: ${err instanceof Error ? err.message : String(err)}`;
  for (const el of Array.from(banner.querySelectorAll<HTMLElement>('.banner'))) if (el.dataset.msg === msg) return;
  const close = h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Dismiss this message' }, '\u00d7');
  const el = h('div', { class: 'banner', 'data-msg': msg }, h('strong', {}, 'Problem'), h('span', {}, msg), close);
  close.addEventListener('click', () => el.remove());
  banner.append(el);
  console.error(msg);
}

export function clearErrors(where: string): void {
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('#banner .banner'))) if (el.dataset.msg?.startsWith(`${where}:`)) el.remove();
}

/** Runs one section's renderer; a failure shows in the banner and in that section only. */
export async function section(id: string, title: string, fn: (body: HTMLElement) => Promise<void>): Promise<void> {
  const body = document.querySelector<HTMLElement>(`#${id} .body`)!;
  try {
    await fn(body);
    body.dataset.state = 'ready';
  } catch (err) {
    body.dataset.state = 'error';
    body.replaceChildren(h('p', { class: 'section-error' }, `${title} could not be shown: ${err instanceof Error ? err.message : String(err)}`));
    showError(title, err);
  }
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

export const fmtShape = (s: number[]) => (s.length === 3 ? `${s[1]}\u00d7${s[2]}\u00d7${s[0]}` : s.join('\u00d7'));

/** A canvas sized for crisp pixels on high-DPI screens; returns the 2D context in CSS pixels. */
export function hidpiCanvas(canvas: HTMLCanvasElement, w: number, hgt: number): CanvasRenderingContext2D {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(hgt * dpr);
  canvas.style.width = `${w}px`; canvas.style.height = `${hgt}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Draws RGB (HWC) or RGBA pixels into a canvas at native size (CSS scales it up, pixelated). */
export function pixelsToCanvas(canvas: HTMLCanvasElement, rgbOrRgba: Uint8Array | Uint8ClampedArray, w: number, hgt: number): void {
  canvas.width = w; canvas.height = hgt;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w, hgt);
  if (rgbOrRgba.length === w * hgt * 4) img.data.set(rgbOrRgba);
  else for (let i = 0; i < w * hgt; i++) {
    img.data[i * 4] = rgbOrRgba[i * 3]; img.data[i * 4 + 1] = rgbOrRgba[i * 3 + 1]; img.data[i * 4 + 2] = rgbOrRgba[i * 3 + 2]; img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
