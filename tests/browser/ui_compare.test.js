// ui_compare.test.js: the web UI's compare page on native (kiln-profiler-shaped) uploads whose
// shares are known: range A has hotA 75 % / hotB 25 %, range B hotA 25 % / hotB 50 % / newB
// 25 % (only in B), and oldA exists only in A. The table must put the changed functions
// first and the flame graph must colour them by direction; the deep link restores the view.
// Service `callers` has one function, `shared`, that grows under callerA and shrinks under
// callerB while its total share stays the same: each frame is coloured by its own change.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const u = require('./ui_lib.js');

let server, ui, page, t0, tMid, t1;

test.before(async () => {
	server = await u.startServer();
	const now = Date.now();
	t0 = now - 40 * 60e3;
	tMid = now - 20 * 60e3;
	t1 = now;
	for (const off of [0, 5])
		await u.uploadNative(server, { service: 'api', startMs: t0 + off * 60e3,
			stacks: { 'main;work;hotA': 6e9, 'main;work;hotB': 2e9, 'main;oldA': 0 + 1e9 } });
	for (const off of [0, 5])
		await u.uploadNative(server, { service: 'api', startMs: tMid + off * 60e3,
			stacks: { 'main;work;hotA': 2e9, 'main;work;hotB': 4e9, 'main;newB': 2e9 } });
	for (const off of [0, 5]) {
		await u.uploadNative(server, { service: 'callers', startMs: t0 + off * 60e3,
			stacks: { 'main;callerA;shared': 2e9, 'main;callerB;shared': 6e9, 'main;rest': 2e9 } });
		await u.uploadNative(server, { service: 'callers', startMs: tMid + off * 60e3,
			stacks: { 'main;callerA;shared': 6e9, 'main;callerB;shared': 2e9, 'main;rest': 2e9 } });
	}
	const hash = `#/compare?q=service%3Aapi&from=${t0}&to=${tMid}&from_b=${tMid}&to_b=${t1}&type=cpu-time%2Fnanoseconds`;
	ui = await u.openUI(server, hash);
	page = ui.page;
});

test.after(async () => {
	if (ui) await ui.browser.close();
	if (server) await server.stop();
});

test('a deep link compares two ranges of one query', async () => {
	await page.waitForSelector('.k-changes');
	const sum = await page.textContent('.k-cmp-sum');
	assert.match(sum, /A .*: 2 profiles/);
	assert.match(sum, /B .*: 2 profiles/);
	assert.equal(await page.inputValue('.k-q'), 'service:api');
	await u.screenshot(page, 'ui-compare');
});

test('the table lists the largest changes first, with direction', async () => {
	const rows = await page.evaluate(() => Array.from(document.querySelectorAll('.k-changes tbody tr')).map((tr) =>
		Array.from(tr.children).map((td) => td.textContent)));
	const byName = Object.fromEntries(rows.map((r) => [r[0], r]));
	// A: hotA 6/9, hotB 2/9, oldA 1/9; B: hotA 2/8, hotB 4/8, newB 2/8
	assert.equal(rows[0][0], 'hotA', 'hotA changed most: 66.7 % → 25 %');
	assert.equal(byName.hotA[4], 'less');
	assert.match(byName.hotA[3], /^-41\.\d %$/);
	assert.equal(byName.hotB[4], 'more');
	assert.match(byName.hotB[3], /^\+27\.\d %$/);
	assert.equal(byName.newB[4], 'only in B');
	assert.equal(byName.oldA[4], 'only in A');
});

test('the flame graph is coloured by change', async () => {
	const c = await page.evaluate(() => {
		const f = window.kilnUI.flame.flame, m = f.model;
		const col = (n) => f.frameColor(f.find(n));
		return { hotA: col('hotA'), hotB: col('hotB'), newB: col('newB'), oldA: col('oldA'), main: col('main'), n: m.n };
	});
	assert.match(c.hotA, /^hsl\(140,/, 'less: green');
	assert.match(c.hotB, /^hsl\(4,/, 'more: red');
	assert.equal(c.newB, '#b0186a', 'only in B');
	assert.equal(c.oldA, '#6f9fd8', 'only in A');
	assert.equal(c.main, '#d9d6d0', 'unchanged');
	// the pixel under hotA's frame is drawn in its diff colour (green channel dominant)
	const px = await page.evaluate(() => {
		const f = window.kilnUI.flame.flame, r = f.frameRect(f.find('hotA'));
		const s = f.canvas.width / f.canvas.clientWidth;
		return Array.from(f.canvas.getContext('2d').getImageData(Math.floor((r.x + r.w / 2) * s),
			Math.floor((r.y + r.h - 3) * s), 1, 1).data);
	});
	assert.ok(px[1] > px[0] && px[1] > px[2], `hotA pixel ${px}`);
});

test('hovering a frame shows its values in A and B', async () => {
	const pt = await page.evaluate(() => {
		const f = window.kilnUI.flame.flame, r = f.frameRect(f.find('hotB'));
		const c = f.canvas.getBoundingClientRect();
		return { x: c.left + r.x + r.w / 2, y: c.top + r.y + r.h / 2 };
	});
	await page.mouse.move(pt.x, pt.y);
	const t = await page.textContent('.k-cmp-hover');
	assert.match(t, /^hotB — A: 4\.00 s \(22\.2 %\), B: 8\.00 s \(50\.0 %\)$/);
});

test('clicking a change highlights the function in the graph', async () => {
	await page.click('.k-changes tbody tr[data-name=newB]');
	const r = await page.evaluate(() => ({ sel: window.kilnUI.flame.flame.selected, names: window.kilnUI.flame.flame.model.names, hash: location.hash }));
	assert.equal(r.names[r.sel], 'newB');
	assert.match(r.hash, /fn=newB/);
});

test('the form compares two queries', async () => {
	await page.fill('.k-q-b', 'service:api');
	await page.fill('.k-from-b', String(t0));
	await page.fill('.k-to-b', String(tMid));
	await u.after(page, () => page.click('.k-cmp-form button[type=submit]'));
	await page.waitForSelector('.k-changes');
	const rows = await page.evaluate(() => Array.from(document.querySelectorAll('.k-changes tbody tr td:nth-child(4)')).map((td) => td.textContent));
	assert.ok(rows.every((d) => /^0\.00 %$/.test(d)), `same selection, no change: ${rows}`);
	assert.deepEqual(ui.blocked, []);
	assert.deepEqual(ui.errors, []);
});

test('one function under two callers: each frame has the colour of its own change', async () => {
	await u.navigate(page, `#/compare?q=service%3Acallers&from=${t0}&to=${tMid}&from_b=${tMid}&to_b=${t1}&type=cpu-time%2Fnanoseconds`);
	await page.waitForSelector('.k-changes');
	const r = await page.evaluate(() => {
		const f = window.kilnUI.flame.flame;
		const a = f.findPath(['main', 'callerA', 'shared']), b = f.findPath(['main', 'callerB', 'shared']);
		const s = f.canvas.width / f.canvas.clientWidth, ctx = f.canvas.getContext('2d');
		const px = (i) => {
			const rc = f.frameRect(i);
			return Array.from(ctx.getImageData(Math.floor((rc.x + rc.w / 2) * s), Math.floor((rc.y + rc.h - 3) * s), 1, 1).data);
		};
		return { a, b, ca: f.frameColor(a), cb: f.frameColor(b), pa: px(a), pb: px(b),
			path: f.path(a), rest: f.frameColor(f.findPath(['main', 'rest'])) };
	});
	assert.ok(r.a > 0 && r.b > 0 && r.a !== r.b, `two frames of shared: ${r.a}, ${r.b}`);
	assert.deepEqual(r.path, ['main', 'callerA', 'shared']);
	// shared under callerA: 20 % of A → 60 % of B; under callerB: 60 % → 20 %
	assert.match(r.ca, /^hsl\(4,/, `callerA's shared grew: red, got ${r.ca}`);
	assert.match(r.cb, /^hsl\(140,/, `callerB's shared shrank: green, got ${r.cb}`);
	assert.equal(r.rest, '#d9d6d0', 'rest: 20 % on both sides');
	assert.ok(r.pa[0] > r.pa[1] && r.pa[0] > r.pa[2], `callerA's shared is drawn red: ${r.pa}`);
	assert.ok(r.pb[1] > r.pb[0] && r.pb[1] > r.pb[2], `callerB's shared is drawn green: ${r.pb}`);
	// the function as a whole did not change: the table says so
	const row = await page.evaluate(() => Array.from(document.querySelector('.k-changes tbody tr[data-name=shared]').children).map((td) => td.textContent));
	assert.equal(row[3], '0.00 %');
	await u.screenshot(page, 'ui-compare-callers');
	assert.deepEqual(ui.errors, []);
});
