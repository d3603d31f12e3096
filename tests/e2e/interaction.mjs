// First interaction: how long after navigation a page's WebAssembly has hydrated it, measured
// the same way for any Leptos app, so this app can be compared with another (the issue compares
// `/market` with Leptos' `todo_app_sqlite_axum` example on the same machine).
//
//   node interaction.mjs http://127.0.0.1:3000/market [http://127.0.0.1:3001/ …]
//
// For each URL, in Debian's Chromium at 375 px, RUNS fresh visits (each in a new context, so no
// cache) unthrottled and at 4x CPU slowdown. "ready" is the first macrotask after the first
// WebAssembly module is instantiated: wasm-bindgen's init and Leptos' `hydrate()` run in the
// promise chain of that instantiation, so by then a synchronous hydration is done. Where the
// page marks itself (`data-hydrated` on <body>, as this app does once an async hydration and a
// lazily loaded page are done) that time is printed too. Medians and ranges in milliseconds.
import { chromium } from 'playwright-core';

const RUNS = Number(process.env.RUNS || 7);
const urls = process.argv.slice(2);
if (urls.length === 0) {
  console.error('usage: node interaction.mjs URL...');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const summary = (xs) => (xs.length ? `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})` : 'n/a');

try {
  for (const url of urls) {
    for (const rate of [1, 4]) {
      const ready = [];
      const marked = [];
      for (let i = 0; i < RUNS; i++) {
        const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        if (rate > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate });
        await page.addInitScript(() => {
          window.__ready = null;
          window.__marked = null;
          for (const name of ['instantiateStreaming', 'instantiate']) {
            const original = WebAssembly[name];
            WebAssembly[name] = function (...args) {
              const p = original.apply(this, args);
              p.then(() => setTimeout(() => { if (window.__ready === null) window.__ready = performance.now(); }, 0), () => {});
              return p;
            };
          }
          new MutationObserver((_, observer) => {
            if (document.body && document.body.dataset.hydrated !== undefined) {
              window.__marked = performance.now();
              observer.disconnect();
            }
          }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
        });
        await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
        await page.waitForFunction(() => window.__ready !== null, null, { timeout: 60_000 });
        // An app that marks itself is given a moment more to do so.
        await page.waitForFunction(() => window.__marked !== null, null, { timeout: 3_000 }).catch(() => {});
        const r = await page.evaluate(() => ({ ready: window.__ready, marked: window.__marked }));
        ready.push(r.ready);
        if (r.marked !== null) marked.push(r.marked);
        await context.close();
      }
      console.log(`${url} | CPU x${rate} | ready ${summary(ready)} | data-hydrated ${summary(marked)} | ${RUNS} runs`);
    }
  }
} finally {
  await browser.close();
}
