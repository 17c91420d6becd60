// report.test.js: the real `kiln report --html` on the dd-trace-js wall profile of the fixture
// (hotA 62.53 % and hotB 27.04 % of wall time, both leaves), opened in chromium offline.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const lib = require('./lib.js');

const WALL = 'dd-trace-js/node22-gzip-periodic/parts/wall.pprof';
let browser, page, ctx;

const flame = (fn, arg) => page.evaluate(fn, arg);

test.before(async () => {
	const html = lib.tmpFile('wall.html');
	lib.run(lib.env('KILN_BIN'), ['report', '--html', html, '--sample-index', 'wall',
		path.join(lib.env('KILN_FIXTURES'), WALL)]);
	browser = await lib.launch();
	ctx = await lib.open(browser, html);
	page = ctx.page;
});

test.after(async () => {
	if (browser) await browser.close();
});

test('the wall profile renders offline with hotA and hotB visible', async () => {
	const r = await flame(() => {
		const f = window.kilnReport.flame;
		return { err: window.kilnReport.error, stats: f.stats(), root: f.frameRect(0),
			a: f.frameRect(f.find('hotA')), b: f.frameRect(f.find('hotB')),
			title: document.getElementById('kr-title').textContent };
	});
	assert.equal(r.err, undefined);
	assert.equal(r.stats.total, 10065706000, 'wall nanoseconds of the fixture');
	assert.ok(r.a && r.b, 'hotA and hotB frames exist');
	assert.ok(Math.abs(r.a.w / r.root.w - 0.6253) < 0.002, `hotA width ${r.a.w / r.root.w}`);
	assert.ok(Math.abs(r.b.w / r.root.w - 0.2704) < 0.002, `hotB width ${r.b.w / r.root.w}`);
	assert.match(r.title, /wall\.pprof$/);
	const top = await page.locator('.kf-table tbody tr').first().locator('td').allInnerTexts();
	assert.deepEqual(top, ['6.29 s', '6.29 s', 'hotA']);
	assert.deepEqual(ctx.errors, []);
	assert.deepEqual(browser.blocked, []);
	for (const u of ctx.requests) assert.match(u, /^file:/);
	await lib.screenshot(page, 'wall-flame');
});

test('search "hot" shows the matched share', async () => {
	await page.fill('.kf-search', 'hot');
	assert.equal(await page.locator('.kf-matched').innerText(), 'matched: 9.02 s (89.6 %)');
	assert.deepEqual(await page.locator('.kf-table td.kf-name').allInnerTexts(), ['hotA', 'hotB']);
	await lib.screenshot(page, 'wall-search');
	await page.fill('.kf-search', '');
});

test('tooltip gives total and self of hotA', async () => {
	const c = await lib.frameCenter(page, await flame(() => window.kilnReport.flame.find('hotA')));
	await page.mouse.move(c.x, c.y);
	const tip = page.locator('.kf-tip');
	await tip.waitFor({ state: 'visible' });
	assert.match(await tip.innerText(), /^hotA\nTotal: 6\.29 s \(62\.5 %\)\nSelf: 6\.29 s \(62\.5 %\)$/);
	await lib.screenshot(page, 'wall-tooltip');
	await page.mouse.move(1, 1);
});

test('click zooms into the parent of hotA; icicle; reset', async () => {
	const parent = await flame(() => {
		const f = window.kilnReport.flame;
		return f.model.parent[f.find('hotA')];
	});
	const c = await lib.frameCenter(page, parent);
	await page.mouse.click(c.x, c.y);
	const r = await flame(() => {
		const f = window.kilnReport.flame;
		return { zoom: f.stats().zoom, a: f.frameRect(f.find('hotA')), z: f.frameRect(f.stats().zoom) };
	});
	assert.equal(r.zoom, parent);
	assert.ok(r.a.w / r.z.w > 0.66, 'hotA fills most of its zoomed parent');
	const crumbs = await page.locator('.kf-crumb').allInnerTexts();
	assert.equal(crumbs[0], 'all');
	assert.equal(crumbs.length, 6, `breadcrumb ${crumbs}`);
	await page.click('.kf-mode');
	assert.equal(await flame(() => window.kilnReport.flame.frameRect(0).y), 0, 'icicle: root on top');
	await lib.screenshot(page, 'wall-zoom-icicle');
	await page.click('.kf-mode');
	await page.click('.kf-reset');
	assert.equal(await flame(() => window.kilnReport.flame.stats().zoom), 0);
});

test('table sorts by total', async () => {
	await page.click('.kf-table th.kf-col-total');
	const rows = await page.locator('.kf-table tbody tr').evaluateAll((trs) =>
		trs.map((tr) => +tr.children[1].title.replace(' %', '')));
	assert.ok(rows.length > 20);
	for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1] >= rows[i], 'descending by total');
	assert.ok(rows[0] > 62.5, 'callers of hotA come first');
	assert.deepEqual(ctx.errors, []);
	assert.deepEqual(browser.blocked, []);
});
