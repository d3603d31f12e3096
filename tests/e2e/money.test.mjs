// Browser test of the whole money path: a buyer searches, adds to the cart (which survives a
// reload), checks out, pays through the fake WeChat Pay page (its "pay" button stands in for
// scanning the QR code); the official sees the new, verified income on the household's income
// page. No console errors anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, untilTrue } from './harness.mjs';

let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

async function loggedIn(login) {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  const problems = watchConsole(page);
  const r = await context.request.post(`${server.base}/api/auth/login`, { form: { login, password: 'zhunong2020' } });
  assert.equal(r.status(), 200, await r.text());
  return { context, page, problems };
}

// Sale income per household of a county, as the official reads it through the API.
async function saleIncome(official, householdIds) {
  const out = new Map();
  for (const id of householdIds) {
    const r = await official.context.request.post(`${server.base}/api/ledger/household`, { form: { household_id: String(id) } });
    assert.equal(r.status(), 200);
    const rec = await r.json();
    out.set(id, rec.by_source.filter(([s]) => s === 'sale').reduce((a, [, v]) => a + v, 0));
  }
  return out;
}

test('buyer buys and pays with (fake) WeChat Pay, official sees the verified income', async () => {
  const official = await loggedIn('gov.zhenghe@demo.zhunong.cn');
  const list = await (await official.context.request.post(`${server.base}/api/official/households`, { form: {} })).json();
  const ids = list.households.items.map((h) => h.id);
  assert.equal(list.households.next, null, "the county fits on one page");
  const before = await saleIncome(official, ids);

  // The buyer searches and adds two units to the cart.
  const buyer = await loggedIn('buyer@demo.zhunong.cn');
  const page = buyer.page;
  await page.goto(`${server.base}/market`);
  await page.getByRole('searchbox').fill('白牡丹');
  await page.getByRole('button', { name: '搜索' }).click();
  await untilTrue(async () => new URL(page.url()).searchParams.get('q') === '白牡丹');
  const card = page.getByTestId('listing-card').filter({ hasText: '白牡丹' });
  await card.first().waitFor();
  // The old results stay on screen until the search's answer arrives: wait for it.
  await untilTrue(async () => (await page.getByTestId('listing-card').count()) === 1);
  await card.first().getByRole('link').click();
  await page.getByTestId('add-to-cart').waitFor();
  await page.getByLabel('数量').fill('2');
  await untilTrue(async () => {
    await page.getByTestId('add-to-cart').click();
    return /\(\d+\)/.test(await page.getByTestId('cart-count').textContent());
  });
  // The cart survives a reload.
  await page.goto(`${server.base}/cart`);
  await page.reload();
  await page.getByTestId('cart-lines').waitFor();
  assert.match(await page.getByTestId('cart-lines').textContent(), /白牡丹/);
  await page.getByTestId('checkout').click();
  await page.waitForURL(`${server.base}/orders`);
  const order = page.getByTestId('order').first();
  await order.waitFor();
  assert.match(await order.getByTestId('order-status').textContent(), /待付款/);
  assert.equal(await page.evaluate(() => localStorage.getItem('zn_cart')), '[]', 'the cart is emptied');

  // The buyer pays with WeChat Pay: a QR code on the pay page; the fake provider's page
  // stands in for the phone that scans it.
  await order.getByTestId('pay').click();
  await page.waitForURL(/\/orders\/\d+\/pay$/);
  await page.getByTestId('pay-wechat').click();
  await page.waitForURL(/method=wechat/);
  await page.locator('.pay-qr svg').waitFor();
  await page.getByTestId('pay-open').click();
  await page.getByTestId('fake-pay').click();
  await page.waitForURL(`${server.base}/orders`);
  await untilTrue(async () => /已付款/.test(await page.getByTestId('order').first().getByTestId('order-status').textContent()));
  assert.match(await page.getByTestId('order').first().getByTestId('order-paid-with').textContent(), /微信支付/);
  const coop = await loggedIn('coop.zhenghe@demo.zhunong.cn');

  // The official sees the new income on the household's income page.
  const after = await saleIncome(official, ids);
  const gained = ids.filter((id) => after.get(id) > before.get(id));
  assert.ok(gained.length > 0, 'some household gained sale income');
  const h = gained[0];
  await official.page.goto(`${server.base}/households/${h}`);
  await official.page.getByTestId('income-total').waitFor();
  assert.match(await official.page.getByTestId('ledger-rows').textContent(), /农产品销售/);
  assert.match(await official.page.getByTestId('ledger-rows').textContent(), /支付渠道通知/, 'the sale rests on the provider\'s notification');
  assert.ok(await official.page.locator('svg.chart rect.bar').count() > 0, 'the monthly chart is drawn');
  // The official records other income there; the record updates in place.
  await official.page.locator('body[data-hydrated]').waitFor();
  const totalBefore = await official.page.getByTestId('income-total').textContent();
  await official.page.getByLabel('金额（元，负数为更正）').fill('100');
  await official.page.getByLabel('收入类型').selectOption('wages');
  await official.page.getByLabel('备注').fill('十一月务工工资');
  await official.page.getByRole('button', { name: '保存' }).click();
  await untilTrue(async () => (await official.page.getByTestId('income-total').textContent()) !== totalBefore);
  assert.equal(new URL(official.page.url()).pathname, `/households/${h}`);

  // The buyer's impact receipt.
  await page.reload();
  await page.getByTestId('order').first().getByTestId('impact').click();
  await page.getByTestId('impact-receipt').waitFor();
  assert.match(await page.getByTestId('impact-receipt').textContent(), /户农户受益/);

  for (const who of [official, buyer, coop]) {
    assert.deepEqual([...who.problems], [], 'no console errors');
    await who.context.close();
  }
});

test('a co-op lists new produce for its linked households through the form', async () => {
  const coop = await loggedIn('coop.zhenghe@demo.zhunong.cn');
  const desk = await (await coop.context.request.post(`${server.base}/api/market/seller-desk`, { form: {} })).json();
  const household = desk.households[0].household_id;
  const page = coop.page;
  await page.goto(`${server.base}/seller/listings`);
  await page.getByTestId('listing-form').waitFor();
  await page.getByLabel('品名').fill('政和白茶·寿眉饼');
  await page.getByLabel('品类').selectOption('tea');
  await page.getByLabel('销售单位').fill('300克/饼');
  await page.getByLabel('单价（元）').fill('98');
  await page.getByLabel('库存').fill('40');
  await page.getByLabel('利益联结方式').selectOption('per_unit');
  await page.getByLabel('受益农户及金额').fill(`${household}:30`);
  await untilTrue(async () => {
    if (/\/listing\/\d+$/.test(page.url())) return true;
    await page.getByRole('button', { name: '保存' }).click({ timeout: 1000 });
    await page.waitForTimeout(500);
    return /\/listing\/\d+$/.test(page.url());
  });
  await page.getByRole('heading', { name: '政和白茶·寿眉饼' }).waitFor();
  assert.match(await page.locator('.breakdown').textContent(), /¥30\.00/);
  const listingUrl = page.url();

  // The co-op adds a photo (a picture the browser itself takes) and edits the price.
  const picture = await page.screenshot({ type: 'jpeg', quality: 80 });
  await page.getByTestId('edit-listing').click();
  await page.getByTestId('photo-upload').waitFor();
  await page.getByLabel('选择照片（可多选）').setInputFiles({ name: 'shoumei.jpg', mimeType: 'image/jpeg', buffer: picture });
  await page.getByRole('button', { name: '上传照片' }).click();
  await untilTrue(async () => new URL(page.url()).searchParams.get('photos_added') === '1');
  await page.getByTestId('photo-manager').locator('img').first().waitFor();
  assert.equal(await page.getByTestId('photo-manager').locator('img').count(), 1);
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('单价（元）').fill('88');
  await untilTrue(async () => {
    if (page.url() === listingUrl) return true;
    await page.getByRole('button', { name: '保存' }).click({ timeout: 1000 });
    await page.waitForTimeout(500);
    return page.url() === listingUrl;
  });
  await untilTrue(async () => /¥88\.00/.test(await page.locator('.price-big').textContent()));
  const main = page.getByTestId('gallery-main');
  await main.waitFor();
  await untilTrue(async () => main.evaluate((img) => img.complete && img.naturalWidth > 0));
  assert.deepEqual([...coop.problems], [], 'no console errors');
  await coop.context.close();
});

test('the catalogue shows photos and filters produce of households under monitoring', async () => {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(`${server.base}/market`);
  const photos = page.locator('img.listing-photo');
  await photos.first().waitFor();
  await untilTrue(async () => photos.first().evaluate((img) => img.complete && img.naturalWidth === 480));
  const all = await page.getByTestId('listing-card').count();
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('惠及监测户').check();
  await page.getByRole('button', { name: '搜索' }).click();
  await untilTrue(async () => new URL(page.url()).searchParams.get('monitored') === '1');
  await untilTrue(async () => {
    const n = await page.getByTestId('listing-card').count();
    return n > 0 && n < all;
  });
  assert.deepEqual([...problems], [], 'no console errors');
  await context.close();
});
