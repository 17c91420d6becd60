// ui_search.test.js: the web UI's search page against a real `kiln serve` with real uploads
// (the dd-trace-js fixture under three identities, one with a hostile service name, and one
// native profile): empty state, facets filter and exclude, the list, the measures strip, the
// aggregated flame graph, deep links, API errors shown, and names rendered as text.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const u = require('./ui_lib.js');

const XSS = '<img src=x onerror=window.__xss=1>';
let server, ui, page;

test.before(async () => {
	server = await u.startServer();
	ui = await u.openUI(server, '#/search');
	page = ui.page;
});

test.after(async () => {
	if (ui) await ui.browser.close();
	if (server) await server.stop();
});

const text = (sel) => page.evaluate((s) => Array.from(document.querySelectorAll(s)).map((e) => e.textContent), sel);

test('an empty server tells a new user what to do', async () => {
	const t = await page.textContent('.k-empty');
	assert.match(t, /No profiles yet/);
	assert.match(t, /kiln run -- \.\/your-app/);
	assert.match(t, /DD_TRACE_AGENT_URL=http:\/\/127\.0\.0\.1:\d+/);
	await u.screenshot(page, 'ui-search-empty');
});

test('uploads appear in the list, with identity and measures', async () => {
	const now = Date.now();
	await u.uploadNode(server, { service: 'checkout', startMs: now - 20 * 60e3, host: 'web-1', env: 'prod' });
	await u.uploadNode(server, { service: 'cart', startMs: now - 10 * 60e3, host: 'web-2', env: 'test', tags: { team: 'shop' } });
	await u.uploadNode(server, { service: XSS, startMs: now - 5 * 60e3, host: 'web-3', env: 'test' });
	await u.uploadNative(server, { service: 'native-a', startMs: now - 3 * 60e3, stacks: { 'main;work;hotA': 6e9, 'main;work;hotB': 2e9 } });
	await u.navigate(page, '#/search?from=now-1h');
	const services = await text('.k-profiles tbody .k-svc');
	assert.deepEqual(services, ['native-a', XSS, 'cart', 'checkout'], 'newest first');
	const row = await page.evaluate(() => Array.from(document.querySelectorAll('.k-profiles tbody tr'))[3].textContent);
	assert.match(row, /web-1/);
	assert.match(row, /nodejs \/ javascript/);
	assert.match(row, /1\.08 cores/, 'CPU cores of the fixture: 10.85 s CPU over 10.07 s');
	const native = await page.evaluate(() => document.querySelector('.k-profiles tbody tr').textContent);
	assert.match(native, /0\.80 cores/, 'the native profile: 8 s of cpu-time over 10 s');
	assert.match(await page.textContent('.k-tab.k-on'), /Profiles \(4\)/);
	// the strip charts the measures of the query
	const lines = await page.evaluate(() => document.querySelectorAll('.k-strip polyline').length);
	assert.ok(lines >= 2, `measure lines drawn: ${lines}`);
	// one line per service
	await u.after(page, () => page.selectOption('.k-group', 'service'));
	assert.match(await page.evaluate(() => location.hash), /group=service/);
	const legend = await text('[data-measure=cpu_cores] .k-chart-legend .k-legend-item');
	assert.deepEqual(legend.sort(), ['cart', 'checkout', 'native-a', XSS].sort(), 'every service has CPU');
	await u.screenshot(page, 'ui-search-grouped');
	await u.navigate(page, '#/search?from=now-1h');
	await u.screenshot(page, 'ui-search-list');
});

test('a hostile service name is rendered as text, never markup', async () => {
	const r = await page.evaluate(() => ({
		xss: window.__xss,
		imgs: document.querySelectorAll('img').length,
		facet: Array.from(document.querySelectorAll('[data-facet=service] .k-facet-name')).map((e) => e.textContent),
	}));
	assert.equal(r.xss, undefined);
	assert.equal(r.imgs, 0);
	assert.ok(r.facet.includes(XSS), 'the facet shows the name as text');
	assert.deepEqual(ui.dialogs, []);
});

test('clicking a facet filters, shift-click excludes, again removes', async () => {
	const facet = (key, value) => page.locator(`.k-facet[data-facet="${key}"] .k-facet-val`, { hasText: value }).first();
	assert.equal(await page.locator('[data-facet=service] .k-facet-val').count(), 4);
	await u.after(page, () => facet('service', 'checkout').click());
	assert.deepEqual(await text('.k-profiles tbody .k-svc'), ['checkout']);
	assert.match(await page.evaluate(() => location.hash), /q=service%3Acheckout/);
	assert.equal(await page.inputValue('.k-query'), 'service:checkout');
	await u.after(page, () => facet('service', 'checkout').click());
	assert.equal((await text('.k-profiles tbody .k-svc')).length, 4);
	await u.after(page, () => facet('env', 'test').click({ modifiers: ['Shift'] }));
	assert.equal(await page.inputValue('.k-query'), '-env:test');
	assert.deepEqual(await text('.k-profiles tbody .k-svc'), ['native-a', 'checkout']);
	assert.deepEqual(await text('[data-facet=env] .k-facet-name'), ['ci', 'prod'], 'facets count the matches');
	await u.screenshot(page, 'ui-search-excluded');
	// the excluded value left the facets; its chip removes the exclusion
	await u.after(page, () => page.click('.k-chip[data-term="-env:test"] .k-chip-x'));
	assert.equal(await page.inputValue('.k-query'), '');
	assert.equal((await text('.k-profiles tbody .k-svc')).length, 4);
});

test('a tag facet can be added and the query box accepts tag terms', async () => {
	await u.navigate(page, '#/search?from=now-1h&facets=team');
	const vals = await text('[data-facet=team] .k-facet-name');
	assert.ok(vals.includes('shop') && vals.includes('intake'), vals.join(','));
	await page.fill('.k-query', 'team:shop');
	await u.after(page, () => page.press('.k-query', 'Enter'));
	assert.deepEqual(await text('.k-profiles tbody .k-svc'), ['cart']);
});

test('the list sorts by a column', async () => {
	await u.navigate(page, '#/search?from=now-1h');
	await u.after(page, () => page.click('.k-profiles th:has-text("Service")'));
	let s = await text('.k-profiles tbody .k-svc');
	assert.deepEqual(s, [XSS, 'cart', 'checkout', 'native-a'], 'ascending by service (bytes: < first)');
	assert.match(await page.evaluate(() => location.hash), /sort=service&dir=asc/);
	await u.after(page, () => page.click('.k-profiles th:has-text("Service")'));
	s = await text('.k-profiles tbody .k-svc');
	assert.deepEqual(s, ['native-a', 'checkout', 'cart', XSS], 'descending by service');
	assert.match(await page.textContent('.k-pager'), /4 of 4, sorted by service, descending/);
});

test('the list is paginated', async () => {
	await u.navigate(page, '#/search?from=now-1h&limit=3');
	assert.deepEqual(await text('.k-profiles tbody .k-svc'), ['native-a', XSS, 'cart']);
	assert.match(await page.textContent('.k-pager'), /1–3 of 4/);
	await u.after(page, () => page.click('.k-next'));
	assert.deepEqual(await text('.k-profiles tbody .k-svc'), ['checkout']);
	assert.match(await page.evaluate(() => location.hash), /offset=3/);
	assert.equal(await page.isDisabled('.k-next'), true);
	await u.after(page, () => page.click('.k-prev'));
	assert.equal((await text('.k-profiles tbody .k-svc')).length, 3);
});

test('the hostile name stays text on its profile page', async () => {
	await u.navigate(page, '#/search?from=now-1h&q=host%3Aweb-3');
	await u.after(page, () => page.click('.k-profiles tbody .k-svc'));
	assert.equal(await page.textContent('.k-ptitle'), XSS);
	await u.after(page, () => page.click('.k-tab[data-tab=info]'));
	assert.match(await page.textContent('.k-panel'), /service\s*<img src=x onerror=window\.__xss=1>/);
	assert.equal(await page.evaluate(() => window.__xss), undefined);
	assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
	await u.screenshot(page, 'ui-profile-xss');
});

test('a deep link loads the aggregated flame graph of a query, with hotA on top', async () => {
	await u.navigate(page, '#/search?from=now-1h&q=runtime%3Anodejs&view=flame&type=cpu%2Fnanoseconds');
	await page.waitForSelector('.kf-table');
	const r = await page.evaluate(() => {
		const f = window.kilnUI.flame.flame, m = f.model;
		const top = Array.from(document.querySelectorAll('.kf-table tbody tr td.kf-name')).slice(0, 2).map((e) => e.textContent);
		const a = m.names.indexOf('hotA');
		return { top, share: m.fself[a] / m.total[0], sum: document.querySelector('.k-agg-sum').textContent };
	});
	assert.deepEqual(r.top, ['hotA', 'hotB']);
	assert.ok(Math.abs(r.share - 0.5582) < 0.002, `hotA cpu share ${r.share}`);
	assert.match(r.sum, /^3 profiles merged/);
	assert.equal(await page.inputValue('.k-query'), 'runtime:nodejs');
	await u.screenshot(page, 'ui-search-aggregate');
});

test('API errors are shown, not swallowed', async () => {
	await u.navigate(page, '#/search?q=nocolon');
	const t = await page.textContent('.k-error-inline');
	assert.match(t, /400/);
	await u.screenshot(page, 'ui-search-error');
	assert.deepEqual(ui.blocked, [], 'no request left the machine');
	assert.deepEqual(ui.errors.filter((e) => !/400/.test(e)), []);
});
