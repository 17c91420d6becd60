// flamegraph.test.js: the report page on synthetic stacks whose shares are known exactly
// (html_gen basic: total 1000 ns; hotA 600 = 500 under handle + 100 under parse; hotB 250),
// driven in chromium: drawing, search, tooltip, zoom, breadcrumb, icicle, table, escaping.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const lib = require('./lib.js');

let browser, page, ctx, html;

test.before(async () => {
	html = lib.tmpFile('basic.html');
	lib.run(lib.env('KILN_HTML_GEN'), ['basic', html]);
	browser = await lib.launch();
	ctx = await lib.open(browser, html);
	page = ctx.page;
});

test.after(async () => {
	if (browser) await browser.close();
});

const flame = (fn, arg) => page.evaluate(fn, arg);

test('page loads offline, without errors, and draws the graph', async () => {
	const r = await flame(() => ({ err: window.kilnReport.error, stats: window.kilnReport.flame.stats() }));
	assert.equal(r.err, undefined);
	assert.equal(r.stats.total, 1000);
	assert.equal(r.stats.nodes, 15);
	assert.ok(r.stats.drawn >= 14, `drawn ${r.stats.drawn}`);
	assert.deepEqual(ctx.errors, []);
	assert.deepEqual(browser.blocked, [], 'no network request may be attempted');
	for (const u of ctx.requests) assert.match(u, /^file:/);
	await lib.screenshot(page, 'basic-flame');
});

test('hostile names are text, never markup', async () => {
	const r = await flame(() => ({
		title: document.getElementById('kr-title').textContent,
		imgs: document.querySelectorAll('img').length,
		scripts: document.querySelectorAll('script').length,
		cells: Array.from(document.querySelectorAll('.kf-table td.kf-name')).map((td) => td.textContent),
	}));
	assert.equal(r.title, 'basic <test> & "profile"');
	assert.equal(r.imgs, 0);
	assert.equal(r.scripts, 3);
	assert.ok(r.cells.includes('<img src=x onerror=alert(1)>'));
	assert.ok(r.cells.includes('</script><script>alert(2)</script>'));
	assert.ok(r.cells.includes('leaf&co'));
	assert.deepEqual(ctx.dialogs, []);
});

test('hotA and hotB frames are visible, widths proportional to value', async () => {
	const r = await flame(() => {
		const f = window.kilnReport.flame, a = f.find('hotA'), b = f.find('hotB');
		return { a: f.frameRect(a), b: f.frameRect(b), root: f.frameRect(0) };
	});
	assert.ok(r.a.w > 100 && r.b.w > 50);
	assert.ok(Math.abs(r.a.w / r.root.w - 0.5) < 0.01, 'hotA under handle is 50 %');
	assert.ok(Math.abs(r.b.w / r.root.w - 0.25) < 0.01, 'hotB is 25 %');
	// flame mode: the root is the bottom row, leaves above it
	assert.ok(r.root.y > r.a.y);
	const c = await lib.frameCenter(page, await flame(() => window.kilnReport.flame.find('hotA')));
	const box = await page.evaluate(() => window.kilnReport.flame.canvas.getBoundingClientRect().toJSON());
	const px = await lib.pixel(page, c.x - box.left, c.y - box.top - 4);
	assert.equal(px[3], 255, 'the frame is painted');
	assert.ok(px[0] > 150, `warm colour expected, got ${px}`);
});

test('tooltip shows name, total and self with shares', async () => {
	const i = await flame(() => window.kilnReport.flame.find('hotA'));
	const c = await lib.frameCenter(page, i);
	await page.mouse.move(c.x, c.y);
	const tip = page.locator('.kf-tip');
	await tip.waitFor({ state: 'visible' });
	const text = await tip.innerText();
	assert.match(text, /hotA/);
	assert.match(text, /Total: 500 ns \(50\.0 %\)/);
	assert.match(text, /Self: 500 ns \(50\.0 %\)/);
	await lib.screenshot(page, 'basic-tooltip');
	const h = await flame(() => window.kilnReport.flame.find('handle'));
	const ch = await lib.frameCenter(page, h);
	await page.mouse.move(ch.x, ch.y);
	assert.match(await tip.innerText(), /handle\s+Total: 750 ns \(75\.0 %\)\s+Self: 0 ns \(0 %\)/);
	await page.mouse.move(1, 1);
	await tip.waitFor({ state: 'hidden' });
});

test('search by substring and by regex shows the matched share and highlights', async () => {
	await page.fill('.kf-search', 'hot');
	assert.equal(await page.locator('.kf-matched').innerText(), 'matched: 850 ns (85.0 %)');
	const rows = await page.locator('.kf-table td.kf-name').allInnerTexts();
	assert.deepEqual(rows.sort(), ['hotA', 'hotB'], 'the table is filtered by the search');
	const i = await flame(() => window.kilnReport.flame.find('hotB'));
	const c = await lib.frameCenter(page, i);
	const box = await page.evaluate(() => window.kilnReport.flame.canvas.getBoundingClientRect().toJSON());
	const px = await lib.pixel(page, c.x - box.left, c.y - box.top - 4);
	assert.deepEqual(px.slice(0, 3), [0xe0, 0x40, 0xa0], 'matches are drawn highlighted');
	await lib.screenshot(page, 'basic-search');

	await page.fill('.kf-search', '/^hotB$/');
	assert.equal(await page.locator('.kf-matched').innerText(), 'matched: 250 ns (25.0 %)');
	await page.fill('.kf-search', '/FIB/i');
	assert.equal(await page.locator('.kf-matched').innerText(), 'matched: 50 ns (5.00 %)',
		'recursion is counted once');
	await page.fill('.kf-search', '/[/');
	assert.equal(await page.locator('.kf-matched').innerText(), 'invalid regular expression');
	await page.fill('.kf-search', '');
	assert.equal(await page.locator('.kf-matched').innerText(), '');
});

test('click zooms, breadcrumb and reset zoom out', async () => {
	const h = await flame(() => window.kilnReport.flame.find('handle'));
	const c = await lib.frameCenter(page, h);
	await page.mouse.click(c.x, c.y);
	let st = await flame(() => window.kilnReport.flame.stats());
	assert.equal(st.zoom, h);
	const crumbs = await page.locator('.kf-crumb').allInnerTexts();
	assert.deepEqual(crumbs, ['all', 'main', 'serve', 'handle']);
	const r = await flame(() => {
		const f = window.kilnReport.flame;
		return { a: f.frameRect(f.find('hotA')), z: f.frameRect(f.find('handle')) };
	});
	assert.ok(Math.abs(r.a.w / r.z.w - 500 / 750) < 0.01, 'hotA fills 2/3 of the zoomed frame');
	await lib.screenshot(page, 'basic-zoom');
	await page.locator('.kf-crumb', { hasText: 'serve' }).click();
	st = await flame(() => window.kilnReport.flame.stats());
	assert.equal(st.zoom, await flame(() => window.kilnReport.flame.find('serve')));
	await page.click('.kf-reset');
	st = await flame(() => window.kilnReport.flame.stats());
	assert.equal(st.zoom, 0);
	assert.equal(await page.locator('.kf-reset').isDisabled(), true);
});

test('icicle toggle puts the root on top', async () => {
	await page.click('.kf-mode');
	const r = await flame(() => {
		const f = window.kilnReport.flame;
		return { inv: f.stats().inverted, root: f.frameRect(0), a: f.frameRect(f.find('hotA')) };
	});
	assert.equal(r.inv, true);
	assert.equal(r.root.y, 0);
	assert.ok(r.a.y > r.root.y);
	assert.equal(await page.locator('.kf-mode').innerText(), 'Flame graph');
	await lib.screenshot(page, 'basic-icicle');
	await page.click('.kf-mode');
	assert.equal(await flame(() => window.kilnReport.flame.stats().inverted), false);
});

test('top table sorts by self, total and name; a row highlights its function', async () => {
	const names = () => page.locator('.kf-table td.kf-name').allInnerTexts();
	let n = await names();
	assert.equal(n[0], 'hotA', 'default: self, descending');
	assert.equal(n[1], 'hotB');
	const first = await page.locator('.kf-table tbody tr').first().locator('td').allInnerTexts();
	assert.deepEqual(first, ['600 ns', '600 ns', 'hotA']);
	await page.click('.kf-table th.kf-col-total');
	n = await names();
	assert.equal(n[0], 'main');
	assert.equal(n[1], 'serve');
	await page.click('.kf-table th.kf-col-name');
	n = await names();
	assert.deepEqual(n, n.slice().sort(), 'name ascending');
	await page.click('.kf-table th.kf-col-name');
	n = await names();
	assert.deepEqual(n, n.slice().sort().reverse(), 'name descending on the second click');
	await page.click('.kf-table th.kf-col-self');

	await page.locator('.kf-table td.kf-name', { hasText: /^hotB$/ }).click();
	assert.equal(await page.locator('.kf-matched').innerText(), 'matched: 250 ns (25.0 %)');
	assert.equal(await page.locator('.kf-table tr.kf-selected td.kf-name').innerText(), 'hotB');
	await lib.screenshot(page, 'basic-table-select');
	await page.locator('.kf-table td.kf-name', { hasText: /^hotB$/ }).click();
	assert.equal(await page.locator('.kf-matched').innerText(), '');
	assert.equal(await page.locator('.kf-table tr.kf-selected').count(), 0);
});

test('values are formatted by unit', async () => {
	const r = await flame(() => [
		KilnFlame.formatValue(1500000, 'nanoseconds'),
		KilnFlame.formatValue(2.5e9, 'nanoseconds'),
		KilnFlame.formatValue(999, 'bytes'),
		KilnFlame.formatValue(3 * 1048576, 'bytes'),
		KilnFlame.formatValue(42, 'count'),
		KilnFlame.formatValue(1234567, 'count'),
	]);
	assert.deepEqual(r, ['1.50 ms', '2.50 s', '999 B', '3.00 MiB', '42', '1.23 M']);
});

test('the component also takes a nested tree (the server UI form)', async () => {
	const r = await flame(() => {
		const box = document.createElement('div');
		document.body.appendChild(box);
		const f = KilnFlame.create(box, { name: 'root', value: 10, children: [
			{ name: 'a', value: 6, children: [{ name: 'b', value: 2 }] },
			{ name: 'c', value: 3 }] }, { unit: 'bytes', table: false });
		const s = f.stats();
		const out = { nodes: s.nodes, self: Array.from(f.model.self), table: !!box.querySelector('table') };
		f.destroy();
		return out;
	});
	assert.deepEqual(r, { nodes: 4, self: [1, 4, 2, 3], table: false });
	const e = await flame(() => {
		const box = document.createElement('div'), seen = [];
		document.body.appendChild(box);
		const f = KilnFlame.create(box, { names: ['all'], name: [0], value: [0], depth: [0] },
			{ onZoom: (i, n) => seen.push('zoom ' + i + ' ' + n),
				onSearch: (q, v) => seen.push('search ' + q + ' ' + v) });
		f.zoom(0);
		f.search('x');
		const out = { drawn: f.stats().drawn, seen: seen,
			rows: box.querySelectorAll('tbody tr').length };
		f.destroy();
		let bad = '';
		try { KilnFlame.create(box, { names: ['a'], name: [0, 0], value: [1, 1], depth: [0, 2] }); }
		catch (err) { bad = err.message; }
		out.bad = bad;
		return out;
	});
	assert.deepEqual(e, { drawn: 0, seen: ['zoom 0 all', 'search x 0'], rows: 0,
		bad: 'flamegraph: bad depth at node 1' });
	assert.deepEqual(browser.blocked, []);
	assert.deepEqual(ctx.errors, []);
	assert.deepEqual(ctx.dialogs, []);
});

test('frameColor colours each frame by its call path, not its name', async () => {
	const r = await flame(() => {
		const box = document.createElement('div'), calls = [];
		document.body.appendChild(box);
		// f appears under a and under b: two frames of one function
		const f = KilnFlame.create(box, { name: 'root', value: 10, children: [
			{ name: 'a', value: 6, children: [{ name: 'f', value: 6 }] },
			{ name: 'b', value: 4, children: [{ name: 'f', value: 4 }] }] }, {
			table: false,
			frameColor: (fr) => {
				calls.push(fr.index + ':' + fr.path.join('>') + ':' + fr.depth + ':' + fr.total);
				return fr.name !== 'f' ? null : fr.path[0] === 'a' ? 'rgb(255, 0, 0)' : 'rgb(0, 0, 255)';
			},
		});
		const fa = f.findPath(['a', 'f']), fb = f.findPath(['b', 'f']);
		const s = f.canvas.width / f.canvas.clientWidth, c2d = f.canvas.getContext('2d');
		const px = (i) => {
			const rc = f.frameRect(i);
			return Array.from(c2d.getImageData(Math.floor((rc.x + rc.w / 2) * s), Math.floor((rc.y + 3) * s), 1, 1).data).slice(0, 3);
		};
		const out = { fa, fb, ca: f.frameColor(fa), cb: f.frameColor(fb), pa: px(fa), pb: px(fb),
			palette: f.frameColor(f.findPath(['a'])) === f.colors[f.model.names.indexOf('a')],
			calls: calls.slice().sort(), missing: f.findPath(['b', 'x']) };
		calls.length = 0;
		f.redraw(); // answers are kept: no new calls
		out.again = calls.length;
		f.setFrameColor(null); // back to the palette: both frames of f the same colour
		out.reset = f.frameColor(fa) === f.frameColor(fb);
		f.destroy();
		return out;
	});
	assert.equal(r.fa, 2);
	assert.equal(r.fb, 4);
	assert.equal(r.ca, 'rgb(255, 0, 0)');
	assert.equal(r.cb, 'rgb(0, 0, 255)');
	assert.deepEqual(r.pa, [255, 0, 0], 'f under a is drawn red');
	assert.deepEqual(r.pb, [0, 0, 255], 'f under b is drawn blue');
	assert.ok(r.palette, 'null keeps the palette colour');
	assert.deepEqual(r.calls, ['0::0:10', '1:a:1:6', '2:a>f:2:6', '3:b:1:4', '4:b>f:2:4']);
	assert.equal(r.missing, -1);
	assert.equal(r.again, 0);
	assert.ok(r.reset);
	assert.deepEqual(ctx.errors, []);
});
