// Browser tests of 防止返贫监测 as officials, cadres and the public walk it: the dashboard's
// drill-down from the province to a village's households, a self-report through verification
// (and the demo's report whose notice has run through identification), and a cadre logging a
// visit. No console errors anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, untilTrue } from './harness.mjs';

let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

async function open(login, width = 1280) {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 900 } });
  const page = await context.newPage();
  const problems = watchConsole(page);
  if (login) {
    const r = await context.request.post(`${server.base}/api/auth/login`, { form: { login, password: 'zhunong2020' } });
    assert.equal(r.status(), 200, await r.text());
  }
  return { context, page, problems };
}

test('an official drills down from the province to a village and its households', async () => {
  const { context, page, problems } = await open('gov.fujian@demo.zhunong.cn');
  await page.goto(`${server.base}/region`);
  // Rendered on the server: the figures are in the first HTML.
  const households = Number(await page.getByTestId('dash-households').locator('strong').textContent());
  assert.ok(households >= 100, `${households} households`);
  assert.equal(await page.getByTestId('dash-monitored').locator('strong').textContent(), '5');
  // City → county → township → village, each level's figures summing to the level above.
  const names = [];
  for (let level = 0; level < 4; level += 1) {
    const rows = page.getByTestId('dash-children').locator('tbody tr');
    await rows.first().waitFor();
    // The first region below with households in it.
    const row = rows.filter({ has: page.locator('td:nth-child(2) a', { hasNotText: /^0$/ }) }).first();
    const link = row.locator('td').first().locator('a');
    names.push(await link.textContent());
    await link.click();
    await page.waitForURL(/region=\d+/);
    await untilTrue(async () => (await page.locator('.trail a').count()) === level + 2);
  }
  assert.match(await page.locator('.trail').textContent(), new RegExp(names[names.length - 1]));
  // The table of regions below and the national layout download as workbooks.
  for (const id of ['export-national-xlsx', 'export-households-xlsx']) {
    const href = await page.getByTestId(id).first().getAttribute('href');
    const r = await context.request.get(`${server.base}${href}`);
    assert.equal(r.status(), 200, href);
    assert.equal(r.headers()['content-type'], 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    assert.equal((await r.body()).subarray(0, 2).toString(), 'PK');
  }
  // A village has no regions below; its households are one click away.
  assert.equal(await page.getByTestId('dash-children').count(), 0);
  const n = Number(await page.getByTestId('dash-households').locator('strong').textContent());
  await page.getByTestId('dash-households').locator('a').click();
  await page.getByTestId('households-summary').waitFor();
  assert.equal(await page.locator('tbody tr').count(), n);
  // The filter tabs narrow the list.
  await page.getByRole('link', { name: '低于监测线' }).first().click();
  await page.waitForURL(/filter=below/);
  await page.locator('body[data-hydrated]').waitFor();
  assert.deepEqual([...problems], []);
  await context.close();
});

test('a neighbour reports hardship; the county verifies it, and identifies a report whose notice has run', async () => {
  const pub = await open(null, 375);
  const { page } = pub;
  await page.goto(`${server.base}/report`);
  await page.locator('body[data-hydrated]').waitFor();
  for (const level of ['pick-province', 'pick-city', 'pick-county', 'pick-township', 'pick-village']) {
    const select = page.getByTestId(level);
    await select.waitFor();
    await page.locator('body[data-hydrated]').waitFor();
    // 政和县 (350725) at the county level; the first option elsewhere.
    const value = level === 'pick-county'
      ? '350725'
      : await select.locator('option').nth(1).getAttribute('value');
    if (level === 'pick-city') await select.selectOption('350700');
    else await select.selectOption(value);
    await page.waitForURL(new RegExp(`region=${level === 'pick-city' ? '350700' : value}$`));
  }
  await page.getByLabel('报告人').selectOption('neighbour');
  await page.getByLabel('户主或联系人姓名').fill('陈阿婆');
  await page.getByLabel('联系电话').fill('13800138000');
  await page.getByLabel('遇到的困难').selectOption('disaster');
  await page.getByLabel('具体情况').fill('台风吹坏了房屋，家里没有收入。');
  await page.getByRole('button', { name: '提交报告' }).click();
  await page.getByTestId('report-receipt').waitFor();
  const receipt = (await page.getByTestId('report-receipt').locator('strong').textContent()).trim();
  assert.match(receipt, /^BP[2-9A-Z]{10}$/);
  // The receipt shows where the report stands.
  await page.goto(`${server.base}/report?receipt=${receipt}`);
  assert.match(await page.getByTestId('report-status').textContent(), /待核实/);
  assert.deepEqual([...pub.problems], []);

  const official = await open('gov.zhenghe@demo.zhunong.cn');
  const op = official.page;
  await op.goto(`${server.base}/monitoring`);
  await op.locator('body[data-hydrated]').waitFor();
  const card = op.locator(`[data-receipt="${receipt}"]`);
  await card.waitFor();
  // The county's official sees the phone in full.
  assert.match(await card.textContent(), /13800138000/);
  await card.getByText('核实并公示').first().click();
  await card.getByLabel('对应农户').selectOption({ index: 1 });
  await card.getByLabel('入户核实情况（收支对比、家庭情况）').fill('房屋受损，本月无收入，支出增加。');
  await card.getByLabel('农户本人已同意').check();
  await card.getByRole('button', { name: '核实并公示' }).click();
  await untilTrue(async () => /公示中/.test(await op.locator(`[data-receipt="${receipt}"]`).textContent()));
  // The demo's report whose notice has run: identify it with a category and the cadre.
  const ready = op.locator('[data-receipt="BPDEMX222223"]');
  await ready.getByText('识别纳入监测').first().click();
  await ready.getByLabel('监测类别').selectOption('sudden');
  await ready.getByLabel('帮扶干部').selectOption({ index: 1 });
  await ready.getByRole('button', { name: '识别纳入监测' }).click();
  await op.getByRole('link', { name: /已识别纳入/ }).click();
  await op.locator('[data-receipt="BPDEMX222223"]').waitFor();
  assert.deepEqual([...official.problems], []);
  await official.context.close();
  await pub.context.close();
});

test('a cadre opens a paired household from their list and logs a visit', async () => {
  const cadre = await open('cadre@demo.zhunong.cn', 375);
  const { page } = cadre;
  await page.goto(`${server.base}/cadre`);
  await page.locator('body[data-hydrated]').waitFor();
  const rows = page.getByTestId('cadre-households').locator('tbody tr');
  assert.ok((await rows.count()) >= 2);
  // One of the demo's households is overdue for a visit.
  assert.match(await page.getByTestId('cadre-households').textContent(), /走访逾期/);
  // A household under monitoring (its category shown), whose quarterly review is due.
  await rows.filter({ hasText: /脱贫不稳定户|突发严重困难户/ }).first().locator('a').first().click();
  await page.getByTestId('visit-form').waitFor();
  await page.locator('body[data-hydrated]').waitFor();
  const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  await page.getByLabel('走访日期').fill(today);
  await page.getByLabel('看到的情况').fill('新茶已采，准备上架。');
  await page.getByLabel('需求', { exact: true }).fill('联系合作社收购。');
  await page.getByLabel('下一步').fill('两周后再访。');
  await page.getByTestId('visit-form').getByRole('button', { name: '记录走访' }).click();
  await untilTrue(async () => /新茶已采/.test(await page.getByTestId('visits').textContent()));
  assert.match(await page.getByTestId('visits').textContent(), new RegExp(today));
  // This quarter's effect review is due; the cadre writes it, and it is listed.
  await page.getByText('填写本季度成效评估', { exact: false }).first().click();
  await page.getByLabel('评估结论').selectOption('improving');
  await page.getByLabel('帮扶措施有效').check();
  await page.getByLabel('评估发现').fill('春茶销售回款到账。');
  await page.getByLabel('下季度措施').fill('继续对接合作社。');
  await page.getByTestId('review-form').getByRole('button', { name: '填写本季度成效评估' }).click();
  await untilTrue(async () => /春茶销售回款到账/.test(await page.getByTestId('reviews').textContent()));
  assert.match(await page.getByTestId('reviews').textContent(), /收入稳步增长/);
  assert.equal(await page.getByTestId('review-form').count(), 0);
  assert.deepEqual([...cadre.problems], []);
  await cadre.context.close();
});
