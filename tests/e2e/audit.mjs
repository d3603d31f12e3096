// `make audit`: what users on a slow phone get and what checkers say, for the public pages.
// Not a test (figures go in the README). For each page, in Debian's Chromium at 375 px:
//   - LCP and CLS from a PerformanceObserver, on a throttled first visit (1.6 Mbps down,
//     750 kbps up, 150 ms round trip, 4x CPU slowdown) and again unthrottled; the time until
//     the page is hydrated (interactive) for both and for 4x CPU slowdown alone;
//   - the bytes the first visit downloaded (as sent over the wire);
//   - axe-core (WCAG 2.1 A and AA rules): violations by impact;
//   - the Nu HTML Checker (npm vnu-jar, Java) on the HTML the server sends: errors, with the
//     ones in Leptos' own hydration markup counted apart;
//   - Lighthouse 12.2.3 (the last release for Node 20), mobile preset with its simulated
//     throttling, on /, /market, a listing and the cart: the four category scores, and the
//     audits that could not run in this Chromium.
// The tools are installed into ~/.cache/zhunong/tools by `make audit`.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser } from './harness.mjs';

const tools = process.env.ZHUNONG_TOOLS || join(homedir(), '.cache/zhunong/tools/node_modules');
const axeSource = readFileSync(join(tools, 'axe-core/axe.min.js'), 'utf8');
const vnuJar = join(tools, 'vnu-jar/build/dist/vnu.jar');

const server = await startServer();
const browser = await launchBrowser();
const rows = [];
const lighthouseRows = [];
try {
  // A listing with photos: the demo's first on the market page.
  const market = await (await fetch(`${server.base}/market`)).text();
  const listing = market.match(/href="(\/listing\/\d+)"/)?.[1] || '/listing/1';
  const county = (await (await fetch(`${server.base}/`)).text()).match(/href="(\/county\/\d+)"/)?.[1] || '/county/350725';
  const shop = (await (await fetch(`${server.base}${listing}`)).text()).match(/href="(\/shop\/[ch]\d+)"/)?.[1] || '/shop/c1';
  const pages = ['/', '/market', listing, shop, '/cart', '/live', county, '/login'];

  for (const path of pages) {
    const row = { path };
    for (const mode of ['slow', 'fast', 'cpu4']) {
      // slow: 1.6 Mbps and 4x CPU; fast: unthrottled; cpu4: 4x CPU only (first interaction).
      const throttled = mode === 'slow';
      // axe is injected as a script: the page's CSP (scripts with its nonce only) would refuse it.
      const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, bypassCSP: !throttled });
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      let bytes = 0;
      cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
      if (throttled) {
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 });
      }
      if (mode !== 'fast') await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
      await page.addInitScript(() => {
        window.__lcp = 0; window.__cls = 0;
        new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__lcp = e.startTime; }).observe({ type: 'largest-contentful-paint', buffered: true });
        new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__cls += e.value; }).observe({ type: 'layout-shift', buffered: true });
      });
      const t0 = Date.now();
      await page.goto(`${server.base}${path}`, { waitUntil: 'load', timeout: 120_000 });
      // Interactive: the app marks <html data-hydrated> once hydrated.
      await page.waitForFunction(() => document.documentElement.dataset.hydrated !== undefined || document.body.dataset.hydrated !== undefined, null, { timeout: 120_000 }).catch(() => {});
      const interactive = Date.now() - t0;
      await page.waitForTimeout(1500);
      const { lcp, cls } = await page.evaluate(() => ({ lcp: window.__lcp, cls: window.__cls }));
      row[mode] = { lcp: Math.round(lcp), cls: Math.round(cls * 1000) / 1000, interactive, bytes };
      if (mode === 'fast') {
        await page.addScriptTag({ content: axeSource });
        const axe = await page.evaluate(async () => {
          const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
        });
        row.axe = axe;
      }
      await context.close();
    }
    // The Nu checker on the server's HTML.
    // Leptos appends its resolved resources as <script>s after </html> (a stray start tag to the
    // checker, which then stops): they are checked apart, and the document up to </html> in full.
    const full = await (await fetch(`${server.base}${path}`)).text();
    const end = full.lastIndexOf('</html>');
    const html = end >= 0 ? full.slice(0, end + 7) : full;
    const trailing = end >= 0 && /<script/.test(full.slice(end + 7));
    const file = join(mkdtempSync(join(tmpdir(), 'vnu-')), 'page.html');
    writeFileSync(file, html);
    const v = spawnSync('java', ['-jar', vnuJar, '--format', 'json', '--exit-zero-always', file], { encoding: 'utf8' });
    const messages = JSON.parse(v.stderr || v.stdout || '{"messages":[]}').messages.filter((m) => m.type === 'error');
    // Leptos' own: the `crossorigin` attribute it fills with the CSP nonce on its preload
    // links, and its hydration markers (`<!>`, a "bogus comment" to the checker).
    const leptos = messages.filter((m) => /for attribute “crossorigin” on element “link”/.test(m.message) || /^Bogus comment/.test(m.message));
    row.vnu = { ours: messages.filter((m) => !leptos.includes(m)).map((m) => m.message), leptos: leptos.length + (trailing ? 1 : 0) };
    rows.push(row);
  }
  // Lighthouse: its own Chromium, mobile form factor and simulated slow 4G with 4x CPU.
  const lighthouse = join(tools, '.bin/lighthouse');
  for (const path of ['/', '/market', listing, '/cart']) {
    const lh = spawnSync(lighthouse, [`${server.base}${path}`, '--quiet', '--output=json', '--output-path=stdout',
      '--only-categories=performance,accessibility,best-practices,seo', '--locale=zh',
      '--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run'],
      { encoding: 'utf8', env: { ...process.env, CHROME_PATH: '/usr/bin/chromium' }, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    let report;
    try { report = JSON.parse(lh.stdout); } catch { report = null; }
    if (!report) {
      lighthouseRows.push({ path, error: (lh.stderr || '').split('\n').slice(-5).join(' ') });
      continue;
    }
    const score = (c) => Math.round((report.categories[c]?.score ?? 0) * 100);
    lighthouseRows.push({
      path,
      performance: score('performance'), accessibility: score('accessibility'),
      bestPractices: score('best-practices'), seo: score('seo'),
      lcp: Math.round(report.audits['largest-contentful-paint']?.numericValue ?? 0),
      tbt: Math.round(report.audits['total-blocking-time']?.numericValue ?? 0),
      fcp: Math.round(report.audits['first-contentful-paint']?.numericValue ?? 0),
      // The LCP element and its phases (time to first byte, load delay, load time, render delay).
      lcpElement: (() => {
        const items = report.audits['largest-contentful-paint-element']?.details?.items ?? [];
        const node = items[0]?.items?.[0]?.node?.snippet ?? '';
        const phases = (items[1]?.items ?? []).map((p) => `${p.phase} ${Math.round(p.timing)}`).join(', ');
        return `${node.slice(0, 90)} ${phases}`;
      })(),
      failed: Object.values(report.audits).filter((a) => a.scoreDisplayMode === 'error').map((a) => a.id),
      low: Object.values(report.audits).filter((a) => a.score !== null && a.score < 0.9 && a.scoreDisplayMode !== 'informative' && a.scoreDisplayMode !== 'manual' && a.scoreDisplayMode !== 'notApplicable').map((a) => a.id),
    });
  }
} finally {
  await browser.close();
  await server.stop();
}

console.log('page | slow 3G-ish + 4x CPU: LCP ms, CLS, interactive ms, bytes | unthrottled: LCP, CLS, interactive | 4x CPU only: interactive | axe serious/critical | Nu errors (ours / Leptos)');
let bad = 0;
for (const r of rows) {
  const serious = r.axe.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  bad += serious.length + r.vnu.ours.length;
  console.log(`${r.path} | ${r.slow.lcp}, ${r.slow.cls}, ${r.slow.interactive}, ${r.slow.bytes} | ${r.fast.lcp}, ${r.fast.cls}, ${r.fast.interactive} | ${r.cpu4.interactive} | ${serious.length} | ${r.vnu.ours.length} / ${r.vnu.leptos}`);
  for (const v of r.axe) console.log(`    axe ${v.impact}: ${v.id} (${v.nodes})`);
  for (const m of r.vnu.ours) console.log(`    nu: ${m}`);
}
console.log('\nLighthouse (mobile) | performance | accessibility | best practices | SEO | FCP ms | LCP ms | TBT ms');
for (const r of lighthouseRows) {
  if (r.error) { console.log(`${r.path} | did not run: ${r.error}`); continue; }
  console.log(`${r.path} | ${r.performance} | ${r.accessibility} | ${r.bestPractices} | ${r.seo} | ${r.fcp} | ${r.lcp} | ${r.tbt}`);
  console.log(`    LCP element: ${r.lcpElement}`);
  if (r.failed.length) console.log(`    audits that errored in this Chromium: ${r.failed.join(', ')}`);
  if (r.low.length) console.log(`    below 0.9: ${r.low.join(', ')}`);
}
process.exitCode = bad ? 1 : 0;
