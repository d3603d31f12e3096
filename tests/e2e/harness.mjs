// Shared by the browser tests and the screenshot script: start the release server on a free
// port with a fresh SQLite database loaded with the demo data (`zhunong seed --demo`), and launch
// Debian's Chromium. Messages the app sends (registration and reset codes) land in a folder the
// tests read (ZHUNONG_NOTIFY_DIR).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export async function startServer() {
  const bin = process.env.ZHUNONG_BIN || join(root, 'target/release/zhunong');
  const dir = mkdtempSync(join(tmpdir(), 'zhunong-e2e-'));
  const outbox = join(dir, 'outbox');
  const env = { ...process.env, DATABASE_URL: `sqlite://${dir}/e2e.db`, ZHUNONG_UPLOAD_DIR: join(dir, 'uploads'), LEPTOS_SITE_ADDR: '127.0.0.1:0', ZHUNONG_LOG: 'info', ZHUNONG_NOTIFY_DIR: outbox, ZHUNONG_FAKE_PAYMENTS: '1', NO_COLOR: '1' };
  delete env.ZHUNONG_SEED_DEMO;
  delete env.ZHUNONG_ENV;
  const seed = spawnSync(bin, ['seed', '--demo'], { cwd: root, env, encoding: 'utf8' });
  if (seed.status !== 0) throw new Error(`seed --demo failed:\n${seed.stdout}${seed.stderr}`);
  const child = spawn(bin, ['serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${log}`)), 60_000);
    const onData = (d) => {
      log += d.toString();
      const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolveBase(m[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${log}`)); });
  });
  return {
    base,
    pid: child.pid,
    log: () => log,
    // The newest six-digit code sent to `login` (as stored: digits, or the e-mail lower-cased).
    lastCode(login) {
      let files = [];
      try { files = readdirSync(outbox).filter((f) => f.endsWith('.txt')); } catch { return null; }
      files.sort((a, b) => parseInt(b, 10) - parseInt(a, 10));
      for (const f of files) {
        const text = readFileSync(join(outbox, f), 'utf8');
        if (text.startsWith(`To: ${login}\n`)) return (text.match(/\b\d{6}\b/) || [null])[0];
      }
      return null;
    },
    async stop() {
      child.removeAllListeners('exit');
      child.kill('SIGTERM');
      await new Promise((r) => { if (child.exitCode !== null) r(); else child.on('exit', r); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ], // playwright gives every launch a fresh, empty user data dir

  });
  return browser;
}

// Collects console errors and warnings and page errors; a test fails if any appear. Chromium logs
// every 4xx response as a console error: a test that provokes one on purpose (a wrong password, a
// 404 page) says which status it expects with `problems.allowStatus(401)`.
export function watchConsole(page) {
  const problems = [];
  const allowed = new Set();
  problems.allowStatus = (status) => allowed.add(status);
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const status = m.text().match(/^Failed to load resource: the server responded with a status of (\d+)/);
    if (status && allowed.has(Number(status[1]))) return;
    problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

// Hydration is asynchronous: retry an interaction until it takes effect.
export async function untilTrue(fn, { timeout = 15_000, interval = 200 } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try { if (await fn()) return true; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`condition not met in ${timeout} ms${last ? `: ${last.message}` : ''}`);
}

// On a phone the header's links are in a menu: opens it when its button is shown (a no-op on a
// wide screen, where the links are always there).
export async function openMenu(page) {
  const toggle = page.getByTestId('nav-toggle');
  if (await toggle.isVisible() && !(await page.locator('#nav-toggle').isChecked())) await toggle.click();
}
