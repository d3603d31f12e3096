// Browser tests of the whole money path, as a new buyer walks it: address, two sellers' goods
// with shipping, payment through the fake WeChat Pay page (its "pay" button stands in for
// scanning the QR code), shipping with a tracking number, receipt, and the verified income on
// the household's page. No console errors anywhere.
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

test('a new buyer adds an address, buys from two sellers with shipping, pays with (fake) WeChat Pay; the seller ships, the buyer confirms, the official sees verified income', async () => {
  const official = await loggedIn('gov.zhenghe@demo.zhunong.cn');
  const list = await (await official.context.request.post(`${server.base}/api/official/households`, { form: {} })).json();
  const ids = list.households.items.map((h) => h.id);
  assert.equal(list.households.next, null, "the county fits on one page");
  const before = await saleIncome(official, ids);

  // A new buyer registers (the code comes from the outbox) and adds an address with the
  // region picker, level by level.
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  const problems = watchConsole(page);
  page.on('dialog', (d) => d.accept());
  const phone = '13912340000';
  let r = await context.request.post(`${server.base}/api/auth/register`, { form: { login: phone, password: 'a-long-password', display_name: '新买家' } });
  assert.equal(r.status(), 200, await r.text());
  r = await context.request.post(`${server.base}/api/auth/register-confirm`, { form: { login: phone, code: server.lastCode(phone) } });
  assert.equal(r.status(), 200, await r.text());
  await page.goto(`${server.base}/account/addresses`);
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByTestId('no-addresses').waitFor();
  for (const level of ['pick-province', 'pick-city', 'pick-county', 'pick-township']) {
    const select = page.getByTestId(level);
    await select.waitFor();
    await page.locator('body[data-hydrated]').waitFor();
    const value = await select.locator('option').nth(1).getAttribute('value');
    await select.selectOption(value);
    await page.waitForURL(new RegExp(`region=${value}$`));
  }
  await page.getByLabel('收件人').fill('王小明');
  await page.getByLabel('手机号').fill('13912340000');
  await page.getByLabel('详细地址（村、门牌号）').fill('七星村 8 号');
  await page.getByTestId('save-address').click();
  await page.getByTestId('address').first().waitFor();
  assert.match(await page.getByTestId('addresses').textContent(), /王小明.*七星村 8 号/s);

  // The tea's co-op charges 12 元 a courier order below 1,000 元.
  const coopApi = await loggedIn('coop.zhenghe@demo.zhunong.cn');
  const terms = await (await coopApi.context.request.post(`${server.base}/api/delivery/terms`, { form: {} })).json();
  r = await coopApi.context.request.post(`${server.base}/api/delivery/save-terms`, { form: { seller: terms[0].seller, courier_fee: '12', free_above: '1000', dispatch_hours: '48' } });
  assert.equal(r.status(), 200, await r.text());
  await coopApi.context.close();

  // Two sellers' goods in the cart: the co-op's tea and another seller's produce.
  const catalogue = await (await context.request.post(`${server.base}/api/market/catalogue`, { form: { 'query[q]': '紫菜' } })).json();
  const other = catalogue.items.find((l) => !/白茶/.test(l.title));
  for (const path of ['/market?q=白牡丹', `/listing/${other.id}`]) {
    await page.goto(`${server.base}${path}`);
    if (path.startsWith('/market')) {
      await page.getByTestId('listing-card').filter({ hasText: '白牡丹' }).first().getByRole('link').first().click();
    }
    await page.getByTestId('add-to-cart').waitFor();
    await page.locator('body[data-hydrated]').waitFor();
    const count = async () => parseInt(((await page.getByTestId('cart-count').textContent()).match(/\d+/) || ['0'])[0], 10);
    const was = await count();
    await untilTrue(async () => {
      if (await count() > was) return true;
      await page.getByTestId('add-to-cart').click();
      return (await count()) > was;
    });
  }
  // The cart survives a reload; the quote shows each seller's shipping and the total.
  await page.goto(`${server.base}/cart`);
  await page.reload();
  await page.getByTestId('cart-lines').waitFor();
  assert.match(await page.getByTestId('cart-lines').textContent(), /白牡丹/);
  await page.getByTestId('cart-groups').waitFor();
  assert.equal(await page.getByTestId('cart-group').count(), 2, 'one order per seller');
  assert.match(await page.getByTestId('cart-group').filter({ hasText: '白茶' }).getByTestId('group-shipping').textContent(), /¥12\.00/);
  assert.match(await page.getByTestId('grand-total').textContent(), /¥/);
  await page.getByTestId('checkout').click();
  await page.waitForURL(`${server.base}/orders`);
  await page.getByTestId('order').nth(1).waitFor();
  assert.equal(await page.getByTestId('order').count(), 2);
  assert.equal(await page.evaluate(() => localStorage.getItem('zn_cart')), '[]', 'the cart is emptied');
  const teaOrder = page.getByTestId('order').filter({ hasText: '白牡丹' });
  assert.match(await teaOrder.getByTestId('order-recipient').textContent(), /王小明 13912340000/);

  // The buyer pays the tea with WeChat Pay: a QR code; the fake provider's page stands in
  // for the phone that scans it.
  await teaOrder.getByTestId('pay').click();
  await page.waitForURL(/\/orders\/\d+\/pay$/);
  await page.getByTestId('pay-wechat').click();
  await page.waitForURL(/method=wechat/);
  await page.locator('.pay-qr svg').waitFor();
  await page.getByTestId('pay-open').click();
  await page.getByTestId('fake-pay').click();
  await page.waitForURL(`${server.base}/orders`);
  await untilTrue(async () => /已付款/.test(await page.getByTestId('order').filter({ hasText: '白牡丹' }).getByTestId('order-status').textContent()));
  assert.match(await page.getByTestId('order').filter({ hasText: '白牡丹' }).getByTestId('order-paid-with').textContent(), /微信支付/);

  // The co-op is told to ship it: the header counts the new message, /notices lists it.
  const coop = await loggedIn('coop.zhenghe@demo.zhunong.cn');
  await coop.page.goto(`${server.base}/notices`);
  await coop.page.getByTestId('notices').waitFor();
  assert.match(await coop.page.getByTestId('notice').first().textContent(), /买家已付款，请按承诺时间发货/);
  assert.match(await coop.page.getByTestId('nav-notices').textContent({ timeout: 5000 }), /\(\d+\)/);
  // The co-op ships it with the courier and tracking number.
  await coop.page.goto(`${server.base}/seller/orders?todo=1`);
  await coop.page.locator('body[data-hydrated]').waitFor();
  const toShip = coop.page.getByTestId('order').filter({ hasText: '王小明' }).first();
  await toShip.waitFor();
  await toShip.getByTestId('ship-courier').selectOption('顺丰速运');
  await toShip.getByTestId('ship-tracking').fill('SF1234567890');
  await toShip.getByTestId('ship').click();
  // Shipped, it leaves the to-do list; the full list shows it with its tracking number.
  await untilTrue(async () => (await coop.page.getByTestId('order').filter({ hasText: '王小明' }).count()) === 0);
  await coop.page.goto(`${server.base}/seller/orders`);
  await untilTrue(async () => /SF1234567890/.test(await coop.page.getByTestId('order').filter({ hasText: '王小明' }).first().textContent()));

  // The buyer sees the tracking number and confirms receipt.
  await page.reload();
  await page.locator('body[data-hydrated]').waitFor();
  const shipped = page.getByTestId('order').filter({ hasText: 'SF1234567890' });
  await shipped.getByTestId('confirm-delivery').click();
  await untilTrue(async () => /已送达/.test(await page.getByTestId('order').filter({ hasText: 'SF1234567890' }).getByTestId('order-status').textContent()));
  // Delivered, the buyer may review what came, once.
  const delivered = page.getByTestId('order').filter({ hasText: 'SF1234567890' });
  await delivered.getByTestId('review-form').locator('summary').click();
  await delivered.getByLabel('评分').selectOption('5');
  await delivered.getByLabel(/说说收到的货/).fill('茶很香，包装也好。');
  await delivered.getByRole('button', { name: '提交评价' }).click();
  await delivered.getByTestId('review-done').waitFor();

  // The official sees the new, verified income on a household's page.
  const after = await saleIncome(official, ids);
  const gained = ids.filter((id) => after.get(id) > before.get(id));
  assert.ok(gained.length > 0, 'some household gained sale income');
  const h = gained[0];
  await official.page.goto(`${server.base}/households/${h}`);
  await official.page.getByTestId('income-total').waitFor();
  assert.match(await official.page.getByTestId('ledger-rows').textContent(), /农产品销售/);
  assert.match(await official.page.getByTestId('ledger-rows').textContent(), /支付渠道通知/, 'the sale rests on the provider\'s notification');
  assert.ok(await official.page.locator('svg.chart rect.bar').count() > 0, 'the monthly chart is drawn');
  // The official records other income there (a note is required); the record updates in place.
  await official.page.locator('body[data-hydrated]').waitFor();
  const totalBefore = await official.page.getByTestId('income-total').textContent();
  await official.page.getByLabel('金额（元，负数为更正）').fill('100');
  await official.page.getByLabel('收入类型').selectOption('wages');
  await official.page.getByLabel('备注').fill('十一月务工工资');
  await official.page.getByRole('button', { name: '保存' }).click();
  await untilTrue(async () => (await official.page.getByTestId('income-total').textContent()) !== totalBefore);

  // The buyer's impact receipt says the payment was verified.
  await page.getByTestId('order').filter({ hasText: 'SF1234567890' }).getByTestId('impact').click();
  await page.getByTestId('impact-receipt').waitFor();
  assert.match(await page.getByTestId('impact-receipt').textContent(), /户农户受益/);
  assert.match(await page.getByTestId('impact-evidence').textContent(), /支付渠道核实/);
  // The buyer shares it: a public page with a QR code, without the buyer's name.
  const receipt = page.getByTestId('order').filter({ hasText: 'SF1234567890' });
  await receipt.getByTestId('impact-share').click();
  await receipt.getByTestId('share-qr').waitFor();
  assert.match(await receipt.getByTestId('share-url').inputValue(), /\/s\/r[a-z2-7]{12}$/);
  const publicPath = await receipt.getByTestId('impact-public').getAttribute('href');
  const stranger = await browser.newContext({ locale: 'zh-CN', viewport: { width: 375, height: 800 } });
  const shared = await stranger.newPage();
  await shared.goto(`${server.base}${publicPath}`);
  await shared.getByTestId('impact-public-page').waitFor();
  assert.match(await shared.getByTestId('impact-public-added').textContent(), /¥/);
  assert.doesNotMatch(await shared.locator('main').textContent(), /爱心买家|新买家/);
  const sharedWidth = await shared.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(sharedWidth <= 375, `the shared receipt is ${sharedWidth}px wide`);
  await stranger.close();

  assert.deepEqual([...problems], [], 'no console errors (buyer)');
  for (const who of [official, coop]) {
    assert.deepEqual([...who.problems], [], 'no console errors');
    await who.context.close();
  }
  await context.close();
});

test('a co-op lists new produce for its linked households through the form', async () => {
  const coop = await loggedIn('coop.zhenghe@demo.zhunong.cn');
  const desk = await (await coop.context.request.post(`${server.base}/api/market/seller-desk`, { form: {} })).json();
  const household = desk.households[0].household_id;
  const page = coop.page;
  await page.goto(`${server.base}/seller/listings`);
  await page.getByTestId('listing-form').waitFor();
  await page.getByLabel('品名', { exact: true }).fill('政和白茶·寿眉饼');
  await page.getByLabel('品类').selectOption('tea');
  await page.getByLabel('销售单位').fill('300克/饼');
  await page.getByLabel('单价（元）').fill('98');
  await page.getByLabel('库存').fill('40');
  await page.getByLabel('利益联结方式').selectOption('per_unit');
  // The terms are a list of the co-op's households, one amount each, with the running total.
  await page.locator('body[data-hydrated]').waitFor();
  const row = page.locator(`#term-${household}`);
  await row.fill('130');
  await untilTrue(async () => /超过了单价/.test(await page.getByTestId('terms-total').textContent()));
  await row.fill('30');
  await untilTrue(async () => /每件归农户合计 ¥30\.00 \/ 单价 ¥98\.00/.test(await page.getByTestId('terms-total').textContent()));
  // What the rest of the price pays for, as the co-op declares it.
  await page.getByLabel('收购加工与人工').fill('20');
  await page.getByLabel('包装与物流').fill('8');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the seller desk is ${width}px wide`);
  await untilTrue(async () => {
    if (/\/listing\/\d+$/.test(page.url())) return true;
    await page.getByTestId('listing-form').getByRole('button', { name: '保存' }).click({ timeout: 1000 });
    await page.waitForTimeout(500);
    return /\/listing\/\d+$/.test(page.url());
  });
  await page.getByRole('heading', { name: '政和白茶·寿眉饼' }).waitFor();
  assert.match(await page.locator('.breakdown').textContent(), /¥30\.00/);
  // The rest of the price is said plainly, item by item as declared, not left for the buyer to guess.
  assert.match(await page.getByTestId('breakdown-cost').textContent(), /¥20\.00 卖家申报：收购加工与人工/);
  assert.match(await page.getByTestId('breakdown-logistics').textContent(), /¥8\.00 卖家申报：包装与物流/);
  assert.match(await page.getByTestId('breakdown-rest').textContent(), /¥40\.00 其余卖家未申报用途/);
  const listingUrl = page.url();

  // The co-op adds a photo (a picture the browser itself takes) and edits the price.
  const picture = await page.screenshot({ type: 'jpeg', quality: 80 });
  await page.getByTestId('edit-listing').click();
  await page.getByTestId('photo-upload').waitFor();
  // A file that is not a picture is refused; the page that says so still hydrates and works
  // (its error used to sit in a <p> inside a <p>, which broke hydration).
  for (const status of [400, 413, 415, 422]) coop.problems.allowStatus(status);
  await page.getByLabel('选择照片（可多选）').setInputFiles({ name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a picture at all') });
  await page.getByRole('button', { name: '上传照片' }).click();
  await untilTrue(async () => new URL(page.url()).searchParams.get('photo_error') !== null);
  assert.match(await page.getByTestId('photo-error').textContent(), /\S/);
  await page.locator('body[data-hydrated]').waitFor();
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

test('on a phone a household lists its own produce with a photo, choosing the origin from its village', async () => {
  const home = await loggedIn('household@demo.zhunong.cn');
  const page = home.page;
  await page.goto(`${server.base}/seller/listings`);
  await page.getByTestId('listing-form').waitFor();
  await page.locator('body[data-hydrated]').waitFor();
  // The origin is a choice of the household's own village, not a 12-digit code to type.
  const picker = page.getByTestId('origin-picker');
  // After the empty first choice a required list starts with ("请选择"), only villages.
  const options = await picker.locator('option:not([value=""])').allTextContents();
  assert.ok(options.length >= 1 && options.every((o) => /村/.test(o)), `origins: ${options}`);
  assert.notEqual(await picker.inputValue(), '', 'its own village is chosen already');
  await page.getByLabel('品名', { exact: true }).fill('自家土鸡蛋');
  await page.getByLabel('品类').selectOption('livestock');
  await page.getByLabel('销售单位').fill('30枚/箱');
  await page.getByLabel('单价（元）').fill('60');
  await page.getByLabel('库存').fill('20');
  await picker.selectOption({ index: 1 });
  // The photo goes in the same form.
  const picture = await page.screenshot({ type: 'jpeg', quality: 80 });
  await page.getByLabel('选择照片（可多选）').setInputFiles({ name: 'eggs.jpg', mimeType: 'image/jpeg', buffer: picture });
  let width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the seller desk is ${width}px wide`);
  await untilTrue(async () => {
    if (/\/listing\/\d+$/.test(page.url())) return true;
    await page.getByTestId('listing-form').getByRole('button', { name: '保存' }).click({ timeout: 1000 });
    await page.waitForTimeout(500);
    return /\/listing\/\d+$/.test(page.url());
  });
  await page.getByRole('heading', { name: '自家土鸡蛋' }).waitFor();
  await page.getByTestId('gallery-main').waitFor();
  // The whole price goes to the household, and the listing leads to its shop.
  assert.match(await page.locator('.breakdown').textContent(), /¥60\.00/);
  assert.match(await page.getByTestId('seller-shop').getAttribute('href'), /^\/shop\/h\d+$/);
  width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the listing is ${width}px wide`);
  assert.deepEqual([...home.problems], [], 'no console errors');
  await home.context.close();
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
  // The filters fold under one control (open once one applies).
  assert.equal(await page.getByLabel('惠及监测户').isVisible(), false);
  await page.getByTestId('filters').locator('summary').click();
  await page.getByLabel('惠及监测户').check();
  await page.getByRole('button', { name: '应用筛选' }).click();
  await untilTrue(async () => new URL(page.url()).searchParams.get('monitored') === '1');
  await untilTrue(async () => {
    const n = await page.getByTestId('listing-card').count();
    return n > 0 && n < all;
  });
  assert.deepEqual([...problems], [], 'no console errors');
  await context.close();
});
