// bigprofile.test.js: a generated profile of 100,000 distinct stacks (html_gen big) must load
// and stay interactive. Times are measured in the page with performance.now() and written to
// browser-artifacts/bigprofile-timings.json; the test asserts what was drawn, not the times
// (the CI machine is noisy).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib.js');

// KILN_BIG_STACKS changes the size (bench: 16000 stacks make a tree of about 100k nodes).
const STACKS = +(process.env.KILN_BIG_STACKS || 100000);
let browser, page, ctx;
const timings = {};

test.before(async () => {
	const html = lib.tmpFile('big.html');
	lib.run(lib.env('KILN_HTML_GEN'), ['big', String(STACKS), html]);
	timings.pageBytes = fs.statSync(html).size;
	browser = await lib.launch();
	const t0 = Date.now();
	ctx = await lib.open(browser, html, { cpu: true });
	timings.openWallMs = Date.now() - t0;
	timings.loadCpuMs = Math.round((await ctx.cpu()) * 1000);
	page = ctx.page;
});

test.after(async () => {
	timings.stacks = STACKS;
	timings.loadavg = require('node:os').loadavg().map((x) => +x.toFixed(2));
	fs.writeFileSync(path.join(lib.artifactsDir(), `bigprofile-timings${STACKS === 100000 ? '' : '-' + STACKS}.json`),
		JSON.stringify(timings, null, 2) + '\n');
	console.log('bigprofile timings: ' + JSON.stringify(timings));
	if (browser) await browser.close();
});

test(`${STACKS} stacks: the page renders the merged tree`, async () => {
	const r = await page.evaluate(() => ({
		err: window.kilnReport.error,
		initMs: window.kilnReport.renderMs,
		loadedMs: window.kilnReport.loadedMs,
		stats: window.kilnReport.flame.stats(),
		stacks: JSON.parse(document.getElementById('kiln-data').textContent).stacks,
		rows: document.querySelectorAll('.kf-table tbody tr').length,
	}));
	assert.equal(r.err, undefined);
	assert.equal(r.stacks, STACKS);
	assert.ok(r.stats.nodes > STACKS, `merged tree has ${r.stats.nodes} nodes`);
	assert.ok(r.stats.drawn > 50, `drawn ${r.stats.drawn}`);
	assert.ok(r.stats.drawn < r.stats.nodes / 10, 'narrow frames are merged, not drawn one by one');
	assert.equal(r.rows, 200, 'the table shows the top 200 functions');
	timings.nodes = r.stats.nodes;
	timings.framesDrawn = r.stats.drawn;
	timings.initMs = +r.initMs.toFixed(1); // JSON.parse + model + table + first draw
	timings.pageLoadedMs = +r.loadedMs.toFixed(1); // since navigation start
	timings.firstDrawMs = +r.stats.lastDrawMs.toFixed(1);
	assert.deepEqual(ctx.errors, []);
	assert.deepEqual(browser.blocked, []);
	await lib.screenshot(page, 'big-flame');
});

// Main-thread CPU milliseconds of one action, each in its own evaluate so the time includes
// the page's work only (a few ms of protocol overhead included).
async function cpuOf(fn, arg) {
	const before = await ctx.cpu();
	await page.evaluate(fn, arg);
	return Math.round(((await ctx.cpu()) - before) * 1000);
}

test(`${STACKS} stacks: CPU time of each interaction`, async () => {
	const hot = await page.evaluate(() => {
		const m = window.kilnReport.flame.model;
		for (let i = 1; i < m.n; i++) if (m.depth[i] === 3) return i;
		return 1;
	});
	const cpu = {};
	cpu.zoom = await cpuOf((i) => window.kilnReport.flame.zoom(i), hot);
	cpu.reset = await cpuOf(() => window.kilnReport.flame.reset());
	cpu.search = await cpuOf(() => window.kilnReport.flame.search('func_12'));
	cpu.regexSearch = await cpuOf(() => window.kilnReport.flame.search('/^mod3::/'));
	cpu.clearSearch = await cpuOf(() => window.kilnReport.flame.search(''));
	cpu.icicle = await cpuOf(() => window.kilnReport.flame.setInverted(true));
	cpu.flame = await cpuOf(() => window.kilnReport.flame.setInverted(false));
	cpu.sortByName = await cpuOf(() => window.kilnReport.flame.sortBy('name'));
	cpu.sortBySelf = await cpuOf(() => window.kilnReport.flame.sortBy('self'));
	cpu.noop = await cpuOf(() => 0);
	timings.cpuMs = cpu;
	assert.equal(await page.evaluate(() => window.kilnReport.flame.stats().zoom), 0);
});

test(`${STACKS} stacks: zoom, search, icicle, sort and hover stay interactive`, async () => {
	const r = await page.evaluate(() => {
		const f = window.kilnReport.flame, m = f.model, out = {};
		const time = (name, fn) => {
			const t = performance.now();
			fn();
			out[name] = +(performance.now() - t).toFixed(1);
		};
		let hot = 1; // the hottest frame at depth 3
		for (let i = 1; i < m.n; i++) if (m.depth[i] === 3) { hot = i; break; }
		time('zoomMs', () => f.zoom(hot));
		out.zoomed = f.stats().zoom === hot;
		out.drawnZoomed = f.stats().drawn;
		time('resetMs', () => f.reset());
		time('searchMs', () => f.search('func_12'));
		out.matched = f.matchLabel.textContent;
		time('regexSearchMs', () => f.search('/^mod3::/'));
		time('clearSearchMs', () => f.search(''));
		time('icicleMs', () => f.setInverted(true));
		time('flameMs', () => f.setInverted(false));
		time('sortByNameMs', () => f.sortBy('name'));
		time('sortBySelfMs', () => f.sortBy('self'));
		const c = f.canvas.getBoundingClientRect(), rect = f.frameRect(hot);
		time('hoverMs', () => f.onMove({ clientX: c.left + rect.x + rect.w / 2,
			clientY: c.top + rect.y + rect.h / 2 }));
		out.tip = f.tip.textContent;
		return out;
	});
	assert.ok(r.zoomed);
	assert.ok(r.drawnZoomed > 10);
	assert.match(r.matched, /^matched: .+ \(\d+(\.\d+)? %\)$/);
	assert.match(r.tip, /Total: .+ %\)Self: /);
	Object.assign(timings, r);
	delete timings.zoomed;
	delete timings.matched;
	delete timings.tip;
	await page.evaluate(() => window.kilnReport.flame.search('func_12'));
	await lib.screenshot(page, 'big-search');
	assert.deepEqual(ctx.errors, []);
});

test(`${STACKS} stacks: frames too narrow to draw are merged, described and zoomable`, async () => {
	const n = await page.evaluate(() => {
		const f = window.kilnReport.flame, m = f.model;
		f.search('');
		f.reset();
		for (let i = 1; i < m.n; i++)
			if (f.isNarrow(i) && !f.isNarrow(m.parent[i]) && m.depth[i] >= 4) return i;
		return -1;
	});
	assert.ok(n > 0, 'a narrow frame exists');
	const c = await lib.frameCenter(page, n);
	await page.mouse.move(c.x, c.y);
	const tip = page.locator('.kf-tip');
	await tip.waitFor({ state: 'visible' });
	assert.match(await tip.innerText(), /^\d+ frames? too narrow to draw\nTotal: .+ %\)\nClick to zoom into /);
	await lib.screenshot(page, 'big-narrow-tooltip');
	const t = Date.now();
	await page.mouse.click(c.x, c.y);
	timings.clickZoomWallMs = Date.now() - t;
	const r = await page.evaluate((n) => {
		const f = window.kilnReport.flame;
		return { zoom: f.stats().zoom, parent: f.model.parent[n], narrow: f.isNarrow(n) };
	}, n);
	assert.equal(r.zoom, r.parent, 'clicking the run zooms into its parent');
	assert.deepEqual(ctx.errors, []);
	assert.deepEqual(browser.blocked, []);
});
