// Screenshots of the main pages at 375 px and 1280 px wide, into screenshots/ (for review).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, root } from './harness.mjs';

const out = join(root, 'screenshots');
mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await launchBrowser();
try {
  for (const width of [375, 1280]) {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 900 } });
    const page = await context.newPage();
    const shot = async (name) => {
      await page.waitForTimeout(600);
      await page.screenshot({ path: join(out, `${name}-${width}.png`), fullPage: true });
    };
    await page.goto(`${server.base}/`); await shot('home');
    await page.goto(`${server.base}/login`); await shot('login');
    await page.goto(`${server.base}/register`); await shot('register');
    // Step two of registration: the code form.
    await page.waitForTimeout(1000);
    await page.getByLabel('称呼').fill('截图');
    await page.getByLabel('手机号或邮箱').fill(`1390000${String(width).padStart(4, '0')}`);
    await page.getByLabel('密码').fill('a-long-password');
    await page.getByRole('button', { name: '注册' }).last().click();
    await page.getByTestId('code-sent').waitFor(); await shot('register-code');
    await page.goto(`${server.base}/reset`); await shot('reset');
    await page.goto(`${server.base}/nope`); await shot('404');
    await page.goto(`${server.base}/market`); await shot('market');
    await page.goto(`${server.base}/market?q=${encodeURIComponent('白牡丹')}`);
    await page.getByTestId('listing-card').first().getByRole('link').first().click();
    await page.getByTestId('add-to-cart').waitFor(); await shot('listing');
    await page.waitForTimeout(1000);
    await page.getByTestId('add-to-cart').click();
    await page.goto(`${server.base}/cart`); await page.getByTestId('cart-lines').waitFor(); await shot('cart');
    await page.goto(`${server.base}/login`);
    await page.waitForTimeout(1500);
    await page.getByLabel('手机号或邮箱').fill('gov.zhenghe@demo.zhunong.cn');
    await page.getByLabel('密码').fill('zhunong2020');
    await page.getByRole('button', { name: '登录' }).last().click();
    await page.getByTestId('nav-user').waitFor({ state: 'attached' });
    await page.goto(`${server.base}/households`); await page.getByTestId('households-summary').waitFor(); await shot('households');
    await page.goto(`${server.base}/account`); await shot('account');
    await page.goto(`${server.base}/households`); await page.getByTestId('households-summary').waitFor();
    const first = await page.locator('tbody tr a').first().getAttribute('href');
    await page.goto(`${server.base}${first}`); await page.getByTestId('income-total').waitFor(); await shot('income');
    // The co-op's edit page for the same listing (photos and the form).
    const coop = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 900 } });
    const r = await coop.request.post(`${server.base}/api/auth/login`, { form: { login: 'coop.zhenghe@demo.zhunong.cn', password: 'zhunong2020' } });
    if (r.status() !== 200) throw new Error(`co-op log-in: ${r.status()}`);
    const coopPage = await coop.newPage();
    await coopPage.goto(`${server.base}/seller/listings`);
    await coopPage.getByTestId('listing-card').filter({ hasText: '白牡丹' }).first().getByRole('link').first().click();
    await coopPage.getByTestId('edit-listing').click();
    await coopPage.getByTestId('photo-manager').waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `listing-edit-${width}.png`), fullPage: true });
    // A buyer's unpaid order (pay-by time) and the seller's list (confirm or cancel).
    const buyer = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 900 } });
    const b = await buyer.request.post(`${server.base}/api/auth/login`, { form: { login: 'buyer@demo.zhunong.cn', password: 'zhunong2020' } });
    if (b.status() !== 200) throw new Error(`buyer log-in: ${b.status()}`);
    const cards = await (await buyer.request.post(`${server.base}/api/market/catalogue`, { form: { 'query[q]': '白牡丹' } })).json();
    const placed = await buyer.request.post(`${server.base}/api/orders/checkout`, { form: { idempotency_key: `shot-${width}-${Date.now()}`, 'items[0][listing_id]': String(cards.items[0].id), 'items[0][quantity]': '1' } });
    if (placed.status() !== 200) throw new Error(`checkout: ${placed.status()} ${await placed.text()}`);
    const buyerPage = await buyer.newPage();
    await buyerPage.goto(`${server.base}/orders`); await buyerPage.getByTestId('order-expires').first().waitFor();
    await buyerPage.waitForTimeout(600);
    await buyerPage.screenshot({ path: join(out, `orders-${width}.png`), fullPage: true });
    // Its pay page with the (fake) WeChat Pay QR code, the address book, and the cart's delivery.
    const orderId = (await placed.json()).orders[0].id;
    await buyerPage.goto(`${server.base}/orders/${orderId}/pay?method=wechat`); await buyerPage.locator('.pay-qr svg').waitFor();
    await buyerPage.waitForTimeout(600);
    await buyerPage.screenshot({ path: join(out, `pay-${width}.png`), fullPage: true });
    await buyerPage.goto(`${server.base}/account/addresses?region=350725`); await buyerPage.getByTestId('addresses').waitFor();
    await buyerPage.waitForTimeout(600);
    await buyerPage.screenshot({ path: join(out, `addresses-${width}.png`), fullPage: true });
    await buyerPage.goto(`${server.base}/listing/${cards.items[0].id}`); await buyerPage.locator('body[data-hydrated]').waitFor();
    await buyerPage.getByTestId('add-to-cart').click();
    await buyerPage.goto(`${server.base}/cart`); await buyerPage.getByTestId('cart-groups').waitFor();
    await buyerPage.waitForTimeout(600);
    await buyerPage.screenshot({ path: join(out, `cart-delivery-${width}.png`), fullPage: true });
    // The one-listing buy page (the no-script way to buy) and a county's page.
    await buyerPage.goto(`${server.base}/buy?listing=${cards.items[0].id}&quantity=2`); await buyerPage.getByTestId('buy-form').waitFor();
    await buyerPage.waitForTimeout(600);
    await buyerPage.screenshot({ path: join(out, `buy-${width}.png`), fullPage: true });
    await buyerPage.goto(`${server.base}/county/350725`); await buyerPage.getByTestId('county-live').waitFor();
    await buyerPage.waitForTimeout(600);
    await buyerPage.screenshot({ path: join(out, `county-${width}.png`), fullPage: true });
    await buyer.close();
    await coopPage.goto(`${server.base}/seller/listings`); await coopPage.getByRole('heading', { name: '配送设置' }).waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `seller-desk-${width}.png`), fullPage: true });
    // The shop's own words: the form, then the shop in English.
    await coopPage.getByTestId('my-shops').getByRole('link', { name: '编辑店铺介绍' }).click();
    await coopPage.getByTestId('shop-edit-form').waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `shop-edit-${width}.png`), fullPage: true });
    const shopPath = new URL(coopPage.url()).pathname.replace(/\/edit$/, '');
    await coopPage.locator('body[data-hydrated]').waitFor();
    await coopPage.getByLabel('英文名称（选填）').fill('Zhenghe White Tea Co-op');
    await coopPage.getByLabel('店铺介绍', { exact: true }).fill('我们的茶园在海拔八百米的山上。\n三十二户茶农一起种，一起卖。');
    await coopPage.getByLabel('英文介绍（选填）').fill('Our tea gardens are 800 m up the hills.\nThirty-two families grow it and sell it together.');
    await coopPage.getByRole('button', { name: '保存' }).click();
    await coopPage.waitForURL((u) => u.pathname === shopPath);
    await coopPage.getByTestId('shop-story').waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `shop-${width}.png`), fullPage: true });
    await coopPage.goto(`${server.base}/seller/orders`); await coopPage.getByTestId('seller-cancel').first().waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `seller-orders-${width}.png`), fullPage: true });
    // Livestreams: the list, the live event's page, its console and the past event's report.
    const events = await (await coop.request.post(`${server.base}/api/live/list`, { form: {} })).json();
    await coopPage.goto(`${server.base}/live`); await coopPage.getByTestId('live-now').waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `live-list-${width}.png`), fullPage: true });
    await coopPage.goto(`${server.base}/live/${events.live[0].id}`); await coopPage.getByTestId('live-counters').waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `live-${width}.png`), fullPage: true });
    await coopPage.goto(`${server.base}/live/${events.live[0].id}/console`); await coopPage.getByTestId('live-console').waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `live-console-${width}.png`), fullPage: true });
    await coopPage.goto(`${server.base}/live/${events.past.items[0].id}/report`); await coopPage.getByTestId('live-report').waitFor();
    await coopPage.waitForTimeout(600);
    await coopPage.screenshot({ path: join(out, `live-report-${width}.png`), fullPage: true });
    await coop.close();
    // 防止返贫监测: the dashboard, the queue, the public report form, the cadre's list, the
    // audit log and the import page (the official is still logged in on `page`).
    await page.goto(`${server.base}/region`); await page.getByTestId('dash-kpis').waitFor(); await shot('region');
    await page.goto(`${server.base}/monitoring`); await page.getByTestId('queue-summary').waitFor(); await shot('monitoring');
    await page.goto(`${server.base}/audit`); await page.getByTestId('audit-rows').waitFor(); await shot('audit');
    await page.goto(`${server.base}/import`); await page.getByTestId('import-form').waitFor(); await shot('import');
    const cadre = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 900 } });
    const c = await cadre.request.post(`${server.base}/api/auth/login`, { form: { login: 'cadre@demo.zhunong.cn', password: 'zhunong2020' } });
    if (c.status() !== 200) throw new Error(`cadre log-in: ${c.status()}`);
    const cadrePage = await cadre.newPage();
    await cadrePage.goto(`${server.base}/cadre`); await cadrePage.getByTestId('cadre-households').waitFor();
    await cadrePage.waitForTimeout(600);
    await cadrePage.screenshot({ path: join(out, `cadre-${width}.png`), fullPage: true });
    // A household under monitoring (its category shown): its file has the quarterly reviews.
    const href = await cadrePage.getByTestId('cadre-households').locator('tbody tr')
      .filter({ hasText: /脱贫不稳定户|突发严重困难户|边缘易致贫户/ }).first().locator('a').first().getAttribute('href');
    await cadrePage.goto(`${server.base}${href}`); await cadrePage.getByTestId('visit-form').waitFor();
    await cadrePage.waitForTimeout(600);
    await cadrePage.screenshot({ path: join(out, `file-${width}.png`), fullPage: true });
    await cadre.close();
    // The 1+1 organisation's page, as the official sees it: found on the first household file
    // of the county that lists one.
    let orgHref = null;
    const list = await (await page.request.post(`${server.base}/api/official/households`, { form: {} })).json();
    for (const h of (list.households?.items ?? []).slice(0, 40)) {
      const f = await (await page.request.post(`${server.base}/api/monitoring/file`, { form: { household_id: String(h.id) } })).json();
      if (f.org_pairings?.length) { orgHref = `/organisations/${f.org_pairings[0].organisation_id}`; break; }
    }
    if (orgHref) {
      await page.goto(`${server.base}${orgHref}`); await page.getByTestId('org-summary').waitFor(); await shot('organisation');
    } else {
      console.log('no 1+1 organisation on the first paired household\'s file: no organisation shot');
    }
    await page.goto(`${server.base}/report?region=350725101201`); await page.getByTestId('report-form').waitFor(); await shot('report');
    await context.addCookies([{ name: 'zn_lang', value: 'en', url: server.base }]);
    await page.goto(`${server.base}/`); await shot('home-en');
    await page.goto(`${server.base}/market`); await shot('market-en');
    await page.goto(`${server.base}${shopPath}`); await page.getByTestId('shop').waitFor(); await shot('shop-en');
    await page.goto(`${server.base}/cart`); await page.getByTestId('cart-lines').waitFor(); await shot('cart-en');
    await context.close();
  }
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
