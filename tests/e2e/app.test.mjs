// Browser tests: server rendering, hydration, language switch, log-in, 404 — and no console
// errors or hydration warnings anywhere.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, untilTrue, openMenu } from './harness.mjs';

let server; let browser; let context; let page; let problems;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});
beforeEach(async () => {
  context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 375, height: 800 } });
  page = await context.newPage();
  problems = watchConsole(page);
});
afterEach(async () => {
  await context.close();
  assert.deepEqual([...problems], [], 'no console errors, warnings or page errors');
});

// Waits until the WebAssembly has hydrated the page (the switch reacts to a click).
async function switchLanguage(to) {
  const btn = page.getByTestId('lang-switch');
  await untilTrue(async () => {
    if ((await page.getAttribute('html', 'lang')) === to) return true;
    await btn.click();
    await page.waitForTimeout(150);
    return (await page.getAttribute('html', 'lang')) === to;
  });
}

test('home page is rendered on the server with the counties from the database', async () => {
  const res = await fetch(`${server.base}/`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<html lang="zh-CN"/);
  assert.match(html, /政和县/);
  assert.match(html, /霞浦县/);
  assert.match(html, /帮扶县区/);
  await page.goto(`${server.base}/`);
  await page.getByTestId('county-list').waitFor();
  assert.equal(await page.locator('.county-card').count(), 9);
});

test('the page hydrates: the language switch works without a reload, and persists', async () => {
  await page.goto(`${server.base}/`);
  await page.evaluate(() => { window.__noReload = 'still here'; });
  await switchLanguage('en');
  await page.getByRole('heading', { name: 'Counties we work with' }).waitFor();
  assert.equal(await page.evaluate(() => window.__noReload), 'still here', 'no page reload');
  assert.ok(await page.getByTestId('county-list').getByText('Zhenghe County', { exact: true }).isVisible());
  // The choice survives a reload: the server renders English now.
  await page.reload();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.getByRole('heading', { name: 'Counties we work with' }).waitFor();
  await switchLanguage('zh-CN');
  await page.getByRole('heading', { name: '帮扶县区' }).waitFor();
});

test('log-in works, shows errors in the page language, and officials see their households', async () => {
  problems.allowStatus(401); // the wrong password, on purpose
  await page.goto(`${server.base}/login`);
  // Before hydration a submit is a plain form post that reloads the page (and its fields).
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('手机号或邮箱').fill('gov.zhenghe@demo.zhunong.cn');
  await page.getByLabel('密码').fill('wrong-password');
  // Retry the first submit until hydration has taken over the form (no full-page POST).
  await untilTrue(async () => {
    await page.getByRole('button', { name: '登录' }).last().click();
    return /不正确/.test(await page.getByTestId('form-error').textContent({ timeout: 1000 }));
  });
  assert.equal(new URL(page.url()).pathname, '/login');
  await page.getByLabel('密码').fill('zhunong2020');
  await page.getByRole('button', { name: '登录' }).last().click();
  await page.getByTestId('nav-user').waitFor({ state: 'attached' });
  assert.match(await page.getByTestId('nav-user').textContent(), /政和县监测干部/);
  assert.equal(new URL(page.url()).pathname, '/');
  await openMenu(page);
  await page.getByRole('link', { name: '农户台账' }).click();
  await page.getByTestId('households-summary').waitFor();
  assert.match(await page.getByTestId('households-summary').textContent(), /政和县/);
  assert.ok((await page.locator('tbody tr').count()) > 10);
  // The same page loaded directly (rendered on the server) shows the data too.
  await page.goto(`${server.base}/households`);
  await page.getByTestId('households-summary').waitFor();
  // Log out again.
  await openMenu(page);
  await page.getByRole('button', { name: '退出' }).click();
  await page.getByRole('link', { name: '登录', includeHidden: true }).waitFor({ state: 'attached' });
});

test('registration sends a code, the code logs the new buyer in, and nothing tells who is registered', async () => {
  await page.goto(`${server.base}/register`);
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('称呼').fill('测试买家');
  await page.getByLabel('手机号或邮箱').fill('13812345678');
  await page.getByLabel('密码').fill('a-long-password');
  await untilTrue(async () => {
    if (await page.getByTestId('code-sent').count()) return true;
    await page.getByRole('button', { name: '注册' }).last().click();
    await page.waitForTimeout(300);
    return (await page.getByTestId('code-sent').count()) > 0;
  });
  const code = server.lastCode('13812345678');
  assert.match(code, /^\d{6}$/);
  // A wrong code is refused with a clear message.
  problems.allowStatus(400);
  await page.getByLabel('验证码').fill(code === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: '完成注册' }).click();
  await untilTrue(async () => /验证码不正确/.test(await page.getByTestId('form-error').last().textContent({ timeout: 1000 })));
  await page.getByLabel('验证码').fill(code);
  await page.getByRole('button', { name: '完成注册' }).click();
  await page.getByTestId('nav-user').waitFor({ state: 'attached' });
  assert.match(await page.getByTestId('nav-user').textContent(), /测试买家/);
  // The same number again gets the same answer as a new one; its owner is told, with no code.
  await openMenu(page);
  await page.getByRole('button', { name: '退出' }).click();
  await page.getByRole('link', { name: '注册', includeHidden: true }).waitFor({ state: 'attached' });
  await page.goto(`${server.base}/register`);
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('称呼').fill('又一个');
  await page.getByLabel('手机号或邮箱').fill('13812345678');
  await page.getByLabel('密码').fill('a-long-password');
  await untilTrue(async () => {
    if (await page.getByTestId('code-sent').count()) return true;
    await page.getByRole('button', { name: '注册' }).last().click();
    await page.waitForTimeout(300);
    return (await page.getByTestId('code-sent').count()) > 0;
  });
  assert.equal(server.lastCode('13812345678'), null, 'the owner was told, and no code was sent');
});

test('on a phone the header is one row with a menu, and log-in brings the user back to the page they were on', async () => {
  await page.goto(`${server.base}/market`);
  await page.getByTestId('listing-card').first().waitFor();
  const listing = await page.getByTestId('listing-card').first().getByRole('link').first().getAttribute('href');
  await page.goto(`${server.base}${listing}`);
  const header = await page.locator('.site-header').boundingBox();
  assert.ok(header.height < 64, `the header is ${header.height}px high`);
  assert.equal(await page.locator('#site-nav').isVisible(), false, 'the links wait in the menu');
  await page.locator('body[data-hydrated]').waitFor();
  await openMenu(page);
  await page.getByRole('link', { name: '登录' }).click();
  await page.waitForURL(/\/login\?next=/);
  // From log-in to registration and back, the return address rides along.
  assert.match(await page.getByRole('link', { name: '还没有账户？注册' }).getAttribute('href'), /next=/);
  await page.getByLabel('手机号或邮箱').fill('school@demo.zhunong.cn');
  await page.getByLabel('密码').fill('zhunong2020');
  await untilTrue(async () => {
    if (new URL(page.url()).pathname === listing) return true;
    await page.getByRole('button', { name: '登录' }).last().click({ timeout: 1000 });
    await page.waitForTimeout(300);
    return new URL(page.url()).pathname === listing;
  });
  assert.match(await page.getByTestId('nav-user').textContent({ timeout: 5000 }), /\S/, 'logged in');
  assert.equal(await page.locator('#site-nav').isVisible(), false, 'the menu closed when the page changed');
  // The institution's pledge shows on the home page.
  await page.goto(`${server.base}/`);
  await page.getByTestId('pledge').waitFor();
  assert.match(await page.getByTestId('pledge-progress').textContent(), /今年已采购/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the home page is ${width}px wide`);
});

test('no page is wider than a phone: tables scroll inside their frame', async () => {
  const as = async (login) => {
    const r = await context.request.post(`${server.base}/api/auth/login`, { form: { login, password: 'zhunong2020' } });
    assert.equal(r.status(), 200, await r.text());
  };
  const wide = [];
  const check = async (path) => {
    await page.goto(`${server.base}${path}`);
    await page.locator('main').waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 375) wide.push(`${path}: ${width}px`);
  };
  for (const path of ['/', '/market', '/live', '/county/350725', '/login', '/register', '/report']) await check(path);
  await as('gov.zhenghe@demo.zhunong.cn');
  const list = await (await context.request.post(`${server.base}/api/official/households`, { form: {} })).json();
  const household = list.households.items[0].id;
  for (const path of ['/households', `/households/${household}`, '/region', '/monitoring', '/audit', '/import', '/account']) await check(path);
  await as('coop.zhenghe@demo.zhunong.cn');
  for (const path of ['/seller/listings', '/seller/orders', '/orders', '/notices']) await check(path);
  assert.deepEqual(wide, [], 'pages wider than 375 px');
});

test('from a listing a buyer finds its shop and its village, and shares the shop by its QR code', async () => {
  await page.goto(`${server.base}/market`);
  const card = page.getByTestId('listing-card').first();
  await card.waitFor();
  const listing = await card.getByRole('link').first().getAttribute('href');
  assert.match(await card.getByTestId('card-shop').getAttribute('href'), /^\/shop\/[ch]\d+$/);
  await page.goto(`${server.base}${listing}`);
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByTestId('seller-shop').click();
  await page.waitForURL(/\/shop\/[ch]\d+$/);
  const shop = new URL(page.url()).pathname;
  await page.getByTestId('shop').waitFor();
  assert.ok(await page.locator(`[data-testid="shop-listings"] a[href="${listing}"]`).count() >= 1, 'the shop sells the listing');
  let width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the shop is ${width}px wide`);
  // Its QR code is a picture that loads, and its short link leads back to the shop.
  const qr = page.getByTestId('share-qr');
  await qr.scrollIntoViewIfNeeded();
  await untilTrue(async () => qr.evaluate((img) => img.complete && img.naturalWidth > 0));
  const short = await page.getByTestId('share-url').inputValue();
  assert.match(short, /\/s\/[ch]\d+$/);
  const svg = await context.request.get(`${server.base}${await qr.getAttribute('src')}`);
  assert.equal(svg.headers()['content-type'], 'image/svg+xml');
  await page.goto(short);
  assert.equal(new URL(page.url()).pathname, shop);
  await page.getByTestId('shop').waitFor();
  // From the listing to the village where it grows, which names the shop among its sellers.
  await page.goto(`${server.base}${listing}`);
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByTestId('origin-shop').click();
  await page.waitForURL(/\/shop\/v\d{12}$/);
  await page.getByTestId('shop-sellers').waitFor();
  assert.ok(await page.locator(`[data-testid="shop-sellers"] a[href="${shop}"]`).count() === 1, 'the village names the seller');
  width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the village is ${width}px wide`);
});

test('a co-op writes its shop\'s story in Chinese and English from the seller desk, at 375 px', async () => {
  const r = await context.request.post(`${server.base}/api/auth/login`, { form: { login: 'coop.zhenghe@demo.zhunong.cn', password: 'zhunong2020' } });
  assert.equal(r.status(), 200, await r.text());
  await page.goto(`${server.base}/seller/listings`);
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByTestId('my-shops').getByRole('link', { name: '编辑店铺介绍' }).click();
  await page.waitForURL(/\/shop\/c\d+\/edit$/);
  const shop = new URL(page.url()).pathname.replace(/\/edit$/, '');
  await page.getByTestId('shop-edit-form').waitFor();
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('英文名称（选填）').fill('Zhenghe White Tea Co-op');
  await page.getByLabel('店铺介绍', { exact: true }).fill('茶园在海拔八百米的山上，三十二户茶农一起种。');
  await page.getByLabel('英文介绍（选填）').fill('Our gardens are 800 m up; thirty-two families grow the tea together.');
  let width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the form is ${width}px wide`);
  await page.getByRole('button', { name: '保存' }).click();
  await page.waitForURL((u) => u.pathname === shop);
  await page.getByTestId('shop-story').getByText('三十二户茶农').waitFor();
  // In English, the shop goes by its English name and story.
  await switchLanguage('en');
  await page.getByRole('heading', { name: 'Zhenghe White Tea Co-op' }).waitFor();
  await page.getByTestId('shop-story').getByText('thirty-two families').waitFor();
  width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the shop is ${width}px wide`);
});

test('unknown pages show the 404 page with status 404', async () => {
  problems.allowStatus(404);
  const res = await page.goto(`${server.base}/no-such-page`);
  assert.equal(res.status(), 404);
  await page.getByTestId('not-found').waitFor();
  assert.ok(await page.getByRole('heading', { name: '页面不存在' }).isVisible());
});

// A raw GET (Node's http: no automatic decompression), to see what goes over the wire.
async function raw(path, headers) {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(`${server.base}${path}`, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes: Buffer.concat(chunks).length }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the app\'s files are addressed under the build\'s directory, go out precompressed and are cached for a year; pages are not', async () => {
  const html = await (await fetch(`${server.base}/`)).text();
  // The WebAssembly is named in the hydration script (it is not preloaded with the page).
  const wasm = html.match(/"(\/pkg\/[0-9a-f]{16}\/zhunong\.wasm)"/)?.[1];
  const js = html.match(/href="(\/pkg\/[0-9a-f]{16}\/zhunong\.js)"/)?.[1];
  const css = html.match(/href="(\/pkg\/[0-9a-f]{16}\/zhunong\.css)"/)?.[1];
  const split = html.match(/href="(\/pkg\/[0-9a-f]{16}\/__wasm_split\.js)"/)?.[1];
  assert.ok(wasm && js && css && split, `the build's files in the page: ${wasm} ${js} ${css} ${split}`);
  const build = js.split('/')[2];
  for (const path of [wasm, css, split]) assert.equal(path.split('/')[2], build, `${path}: one build directory`);
  assert.ok(!/<link[^>]*rel="preload"[^>]*\.wasm/.test(html), 'the WebAssembly waits for the page: it is not preloaded with it');
  for (const path of [wasm, js, css, split]) {
    const plain = await raw(path, {});
    const br = await raw(path, { 'Accept-Encoding': 'br, gzip' });
    assert.equal(br.status, 200, path);
    assert.equal(br.headers['content-encoding'], 'br', path);
    assert.ok(br.bytes < plain.bytes / 2, `${path}: ${br.bytes} B brotli of ${plain.bytes} B`);
    assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable', path);
    assert.match(br.headers.vary || '', /accept-encoding/i, `${path}: caches keep the encodings apart`);
    const gz = await raw(path, { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip', path);
    // The same file by its plain name, or under another build's directory (a page of the
    // previous build during a deploy): served, but asked for again next time, since a name
    // alone does not say which build's bytes it holds.
    const name = path.split('/').pop();
    for (const other of [`/pkg/${name}`, `/pkg/${build === '0123456789abcdef' ? 'fedcba9876543210' : '0123456789abcdef'}/${name}`]) {
      const r = await raw(other, {});
      assert.equal(r.status, 200, other);
      assert.equal(r.headers['cache-control'], 'no-cache', other);
    }
  }
  // The app's script imports the loader, which imports the app's script back: relative
  // addresses, inside the build's directory, so the browser loads each module once.
  const script = await (await fetch(`${server.base}${js}`)).text();
  assert.match(script, /from\s*["']\.\/__wasm_split\.js["']/, 'the loader is imported by a relative address');
  assert.ok(script.length < 40000 && !/\n\s+\n/.test(script), `the script is minified (${script.length} B)`);
  const page = await raw('/', { 'Accept-Encoding': 'br, gzip' });
  assert.equal(page.headers['cache-control'], 'private, no-cache');
  assert.ok(['br', 'gzip'].includes(page.headers['content-encoding']), 'pages are compressed on the fly');
});
