// Benchmark (not a test): N viewers (default 1,000) on one livestream's server-sent events on
// loopback while orders from the event are paid one after another; for each payment, the delay
// from the payment's answer to each viewer's counter update; p50 and p99 over all of them, and
// the server's RSS with the viewers connected. Uses the release binary (make build first) and a
// fresh SQLite database with the demo data.
//   node scripts/bench-live.mjs [viewers] [payments]
import { readFileSync } from 'node:fs';
import { startServer } from '../tests/e2e/harness.mjs';

const viewers = Number(process.argv[2] || 1000);
const payments = Number(process.argv[3] || 20);
// Every viewer comes from 127.0.0.1: lift the per-address limit of streams for the bench.
process.env.ZHUNONG_LIVE_STREAMS_PER_ADDRESS = String(viewers + 10);
const server = await startServer();
const rss = () => Number((readFileSync(`/proc/${server.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/) || [0, 0])[1]);

async function login(login) {
  const r = await fetch(`${server.base}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.base },
    body: new URLSearchParams({ login, password: 'zhunong2020' }),
  });
  if (r.status !== 200) throw new Error(`log-in ${login}: ${r.status}`);
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return (path, form) => fetch(`${server.base}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.base, cookie },
    body: new URLSearchParams(form),
  });
}

try {
  const list = await (await fetch(`${server.base}/api/live/list`, { method: 'POST', headers: { origin: server.base } })).json();
  const event = list.live[0].id;
  const view = await (await fetch(`${server.base}/api/live/get`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.base }, body: `id=${event}` })).json();
  // A featured listing without a flash sale (whose per-buyer limit would stop the one buyer).
  const listing = view.featured.find((f) => f.card.status === 'on_sale' && f.card.stock >= payments && !f.flash).card.id;
  const base0 = view.state.counters.orders;
  const rss0 = rss();

  // The viewers: each keeps the highest order count it has seen and when it saw each.
  const seen = [];
  const conns = [];
  async function connect(i) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const ctrl = new AbortController();
      const r = await fetch(`${server.base}/live/${event}/stream`, { signal: ctrl.signal });
      if (r.status !== 200) { await r.body?.cancel(); await new Promise((res) => setTimeout(res, 100)); continue; }
      seen[i] = new Map();
      conns.push(ctrl);
      (async () => {
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            buf += dec.decode(value, { stream: true });
            let k;
            while ((k = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, k); buf = buf.slice(k + 2);
              const line = block.split('\n').find((l) => l.startsWith('data:'));
              if (!line) continue;
              const n = JSON.parse(line.slice(5)).counters.orders;
              if (!seen[i].has(n)) seen[i].set(n, performance.now());
            }
          }
        } catch { /* aborted at the end */ }
      })();
      return;
    }
    throw new Error(`viewer ${i} could not connect`);
  }
  for (let i = 0; i < viewers; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, viewers - i) }, (_, j) => connect(i + j)));
  }
  await new Promise((res) => setTimeout(res, 1000));
  const rssViewers = rss();

  const buyer = await login('buyer@demo.zhunong.cn');
  const coop = await login('coop.zhenghe@demo.zhunong.cn');
  const delays = [];
  let missing = 0;
  for (let p = 1; p <= payments; p++) {
    const r = await buyer('/api/orders/checkout', { idempotency_key: `bench-live-${Date.now()}-${p}`, 'items[0][listing_id]': String(listing), 'items[0][quantity]': '1', 'items[0][event_id]': String(event) });
    if (r.status !== 200) throw new Error(`checkout: ${r.status} ${await r.text()}`);
    const order = (await r.json()).orders[0].id;
    const paid = await coop('/api/orders/confirm-payment', { order_id: String(order), reference: `BENCH-${p}` });
    if (paid.status !== 200) throw new Error(`payment: ${paid.status} ${await paid.text()}`);
    const t0 = performance.now();
    const want = base0 + p;
    const deadline = t0 + 5000;
    while (performance.now() < deadline && seen.some((m) => !m.has(want))) await new Promise((res) => setTimeout(res, 5));
    for (const m of seen) {
      if (m.has(want)) delays.push(Math.max(0, m.get(want) - t0)); else missing++;
    }
  }
  delays.sort((a, b) => a - b);
  const q = (f) => delays[Math.min(delays.length - 1, Math.floor(f * delays.length))].toFixed(0);
  console.log(`viewers: ${viewers}, payments: ${payments}, updates measured: ${delays.length}, missed (none within 5 s): ${missing}`);
  console.log(`delay from payment to counter update: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${delays[delays.length - 1].toFixed(0)} ms`);
  console.log(`server RSS: ${(rss0 / 1024).toFixed(1)} MiB before the viewers, ${(rssViewers / 1024).toFixed(1)} MiB with ${viewers} connected, ${(rss() / 1024).toFixed(1)} MiB at the end`);
  for (const c of conns) c.abort();
} finally {
  await server.stop();
}
