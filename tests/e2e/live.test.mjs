// Browser tests of livestream sales: a viewer's counters move when another buyer pays for an
// order placed from the event, and a flash sale's countdown ends and the price returns to
// normal, without a reload. The demo's live event (政和, hosted by the tea co-op's manager) is
// the stage. No console errors anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, untilTrue } from './harness.mjs';

let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

async function api(login) {
  const context = await browser.newContext({ locale: 'zh-CN' });
  const r = await context.request.post(`${server.base}/api/auth/login`, { form: { login, password: 'zhunong2020' } });
  assert.equal(r.status(), 200, await r.text());
  return context;
}

async function liveEvent() {
  const anyone = await browser.newContext();
  const list = await (await anyone.request.post(`${server.base}/api/live/list`, { form: {} })).json();
  await anyone.close();
  assert.ok(list.live.length > 0, 'the demo has an event live now');
  assert.ok(list.upcoming.length > 0, 'and one to come');
  assert.ok(list.past.items.length > 0, 'and a past one');
  const r = await (await browser.newContext()).request.post(`${server.base}/api/live/get`, { form: { id: String(list.live[0].id) } });
  return r.json();
}

test('a viewer sees the counters move when another buyer pays for an order from the livestream', async () => {
  const event = await liveEvent();
  const viewerContext = await browser.newContext({ locale: 'zh-CN', viewport: { width: 375, height: 800 } });
  const page = await viewerContext.newPage();
  const problems = watchConsole(page);
  await page.goto(`${server.base}/live/${event.card.id}`);
  await page.locator('body[data-hydrated]').waitFor();
  const orders = page.getByTestId('counter-orders');
  const before = Number(await orders.textContent());
  assert.equal(before, event.state.counters.orders);

  // Another buyer orders a featured listing from the event and the co-op confirms the transfer.
  const listing = event.featured.find((f) => f.card.status === 'on_sale').card;
  const buyer = await api('buyer@demo.zhunong.cn');
  const r = await buyer.request.post(`${server.base}/api/orders/checkout`, {
    form: { idempotency_key: 'e2e-live-0001', 'items[0][listing_id]': String(listing.id), 'items[0][quantity]': '1', 'items[0][event_id]': String(event.card.id) },
  });
  assert.equal(r.status(), 200, await r.text());
  const order = (await r.json()).orders[0];
  const coop = await api('coop.zhenghe@demo.zhunong.cn');
  const paid = await coop.request.post(`${server.base}/api/orders/confirm-payment`, { form: { order_id: String(order.id), reference: 'E2E-LIVE' } });
  assert.equal(paid.status(), 200, await paid.text());

  // Within a second or two, without a reload.
  await untilTrue(async () => Number(await orders.textContent()) === before + 1, { timeout: 5_000 });
  assert.ok(Number((await page.getByTestId('counter-income').textContent()).replace(/[^\d.]/g, '')) > 0);
  assert.deepEqual([...problems], [], "no console errors");
  await viewerContext.close();
});

test('a flash sale counts down on the page, then the price returns to normal', async () => {
  const event = await liveEvent();
  // A featured listing without a running flash sale: the host starts a 10-second one at half price.
  const now = event.state.now;
  const item = event.featured.find((f) => !(f.flash && f.flash.starts_at <= now && now < f.flash.ends_at));
  assert.ok(item, 'a featured listing without a running flash sale');
  const normal = item.card.price_fen;
  const flash = Math.floor(normal / 2);
  const coop = await api('coop.zhenghe@demo.zhunong.cn');
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(`${server.base}/live/${event.card.id}`);
  await page.locator('body[data-hydrated]').waitFor();
  const card = page.locator(`[data-testid="featured"][data-listing="${item.card.id}"]`);
  const price = card.getByTestId('featured-price');
  const yuan = (fen) => (fen / 100).toFixed(2);
  assert.match(await price.textContent(), new RegExp(yuan(normal).replace('.', '\\.')));

  const r = await coop.request.post(`${server.base}/api/live/flash`, {
    form: { event_id: String(event.card.id), listing_id: String(item.card.id), price: yuan(flash), seconds: '10', cap: '', per_buyer_limit: '' },
  });
  assert.equal(r.status(), 200, await r.text());
  // The viewer sees the flash price and its countdown, then the normal price again.
  await card.getByTestId('flash-countdown').waitFor({ timeout: 5_000 });
  assert.match(await price.textContent(), new RegExp(yuan(flash).replace('.', '\\.')));
  assert.match(await card.getByTestId('flash-countdown').textContent(), /0:0\d|0:10/);
  await card.getByTestId('flash-countdown').waitFor({ state: 'detached', timeout: 20_000 });
  const after = await price.textContent();
  assert.ok(!after.includes(yuan(flash)) || yuan(flash) === yuan(normal), after);
  assert.match(after, new RegExp(yuan(normal).replace('.', '\\.')));
  assert.deepEqual([...problems], [], "no console errors");
  await context.close();
});

test('without JavaScript the event page shows the stream link, the line-up with prices and links to buy', async () => {
  const event = await liveEvent();
  const context = await browser.newContext({ locale: 'zh-CN', javaScriptEnabled: false, viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/live/${event.card.id}`);
  assert.equal(await page.getByTestId('live-external').count(), 1);
  assert.ok(await page.getByTestId('featured').count() >= 1);
  const first = page.getByTestId('featured').first();
  assert.equal(await first.locator('a[href^="/listing/"]').count(), 1);
  assert.match(await page.getByTestId('counter-orders').textContent(), /^\d+$/);
  assert.doesNotMatch(await page.content(), /加载中/);
  // No page is wider than the phone.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `page is ${width}px wide`);
  await context.close();
});

test('without JavaScript a viewer buys from the livestream: the buy button, log-in and the order are plain forms', async () => {
  const event = await liveEvent();
  const context = await browser.newContext({ locale: 'zh-CN', javaScriptEnabled: false, viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/live/${event.card.id}`);
  const item = page.getByTestId('featured').first();
  const listingId = await item.getAttribute('data-listing');
  // "加入购物车" is a form's button first: with no script it opens the buy page, not nothing.
  await item.getByTestId('live-add').click();
  await page.waitForURL(new RegExp(`/buy\\?listing=${listingId}.*event=${event.card.id}`));
  await page.getByTestId('buy-login').click();
  await page.waitForURL(/\/login\?next=/);
  await page.getByLabel('手机号或邮箱').fill('school@demo.zhunong.cn');
  await page.getByLabel('密码').fill('zhunong2020');
  await page.getByRole('button', { name: '登录' }).click();
  // The log-in form's post comes back to the log-in page, which sends the buyer on.
  await page.waitForURL(new RegExp(`/buy\\?listing=${listingId}`));
  await page.getByTestId('buy-form').waitFor();
  // An address, as the address page's region picker lists them (no script needed there either).
  const addresses = await context.newPage();
  await addresses.goto(`${server.base}/account/addresses?region=${event.card.county_code}`);
  const township = await addresses.getByTestId('pick-township').locator('option').nth(1).getAttribute('value');
  const saved = await context.request.post(`${server.base}/api/delivery/save-address`, {
    form: { recipient: '李老师', mobile: '13700000001', region_code: township, detail: '实验小学 1 号' },
  });
  assert.equal(saved.status(), 200, await saved.text());
  await page.getByTestId('buy-update').click();
  await page.getByTestId('buy-total').waitFor();
  await page.getByTestId('buy-place').click();
  await page.waitForURL(/\/orders\/\d+\/pay/);
  assert.match(await page.content(), /ZN\d+/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `page is ${width}px wide`);
  await context.close();
});
