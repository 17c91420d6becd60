// ui_profile.test.js: the web UI's profile page on a real dd-trace-js upload: open it from the
// list, find hotA in the flame graph and the table, zoom, search, switch the profile type,
// the sandwich view, deep links restoring zoom and search, Timeline, Metrics, Runtime Info
// and the downloads.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const u = require('./ui_lib.js');

let server, ui, page, id;

test.before(async () => {
	server = await u.startServer();
	const now = Date.now();
	await u.uploadNode(server, { service: 'checkout', startMs: now - 30 * 60e3, host: 'web-1', env: 'prod' });
	await u.uploadNode(server, { service: 'checkout', startMs: now - 20 * 60e3, host: 'web-1', env: 'prod' });
	await u.uploadNode(server, { service: 'other', startMs: now - 10 * 60e3, host: 'web-2', env: 'prod' });
	ui = await u.openUI(server, '#/search?from=now-1h');
	page = ui.page;
});

test.after(async () => {
	if (ui) await ui.browser.close();
	if (server) await server.stop();
});

const flame = (fn, arg) => page.evaluate(fn, arg);

test('clicking a row opens the profile with hotA in the flame graph and the table', async () => {
	await u.after(page, () => page.click('.k-profiles tbody tr:last-child td:nth-child(2)'));
	id = (await page.evaluate(() => location.hash)).match(/^#\/profile\/(\d+)/)[1];
	assert.equal(await page.textContent('.k-ptitle'), 'checkout');
	await page.waitForSelector('.kf-table');
	const r = await flame(() => {
		const f = window.kilnUI.flame.flame, m = f.model, a = m.names.indexOf('hotA');
		return {
			type: document.querySelector('.k-type').selectedOptions[0].textContent,
			share: m.fself[a] / m.total[0],
			rect: f.frameRect(f.find('hotA')),
			first: document.querySelector('.kf-table tbody td.kf-name').textContent,
		};
	});
	assert.match(r.type, /^cpu\/nanoseconds/, 'cpu is the default type');
	assert.ok(Math.abs(r.share - 0.5582) < 0.002, `hotA self share ${r.share}`);
	assert.ok(r.rect && r.rect.w > 200, 'hotA is drawn wide');
	assert.equal(r.first, 'hotA');
	await u.screenshot(page, 'ui-profile-flame');
});

test('zoom and search are kept in the URL and restored by a deep link', async () => {
	const r = await flame(() => {
		const f = window.kilnUI.flame.flame, i = f.model.parent[f.find('hotA')];
		const c = f.canvas.getBoundingClientRect(), rc = f.frameRect(i);
		return { i, x: c.left + rc.x + rc.w / 2, y: c.top + rc.y + rc.h / 2 };
	});
	await page.mouse.click(r.x, r.y);
	assert.equal(await flame(() => window.kilnUI.flame.flame.stats().zoom), r.i);
	assert.match(await page.evaluate(() => location.hash), new RegExp('zoom=' + r.i));
	await page.fill('.kf-search', 'hot');
	const matched = await page.textContent('.kf-matched');
	assert.match(matched, /8\d\.\d+ %/, `hotA + hotB ≈ 80 % of cpu: ${matched}`);
	const hash = await page.evaluate(() => location.hash);
	assert.match(hash, /search=hot/);
	// a fresh load of the same URL restores zoom and search
	await page.reload();
	await u.ready(page);
	await page.waitForSelector('.kf-table');
	const s = await flame(() => ({ zoom: window.kilnUI.flame.flame.stats().zoom, q: document.querySelector('.kf-search').value }));
	assert.deepEqual(s, { zoom: r.i, q: 'hot' });
	await u.screenshot(page, 'ui-profile-zoom-search');
});

test('switching the profile type redraws with that type', async () => {
	await u.after(page, () => page.selectOption('.k-type', { label: 'wall/nanoseconds — wall.pprof' }));
	assert.match(await page.evaluate(() => location.hash), /type=wall%2Fnanoseconds/);
	const r = await flame(() => {
		const m = window.kilnUI.flame.flame.model;
		return { total: m.total[0], share: m.fself[m.names.indexOf('hotA')] / m.total[0] };
	});
	assert.equal(r.total, 10065706000);
	assert.ok(Math.abs(r.share - 0.6253) < 0.002, `wall share ${r.share}`);
});

test('the icicle toggle is kept in the URL', async () => {
	await page.click('.kf-mode');
	assert.match(await page.evaluate(() => location.hash), /inverted=1/);
	await page.reload();
	await u.ready(page);
	await page.waitForSelector('.kf-table');
	assert.equal(await flame(() => window.kilnUI.flame.flame.stats().inverted), true);
	await page.click('.kf-mode');
	assert.doesNotMatch(await page.evaluate(() => location.hash), /inverted/);
});

test('selecting a function in the table opens its sandwich view', async () => {
	await page.click('.kf-table tbody tr:has(td.kf-name:text-is("hotA"))');
	await page.waitForSelector('.k-sandwich:not([hidden])');
	const r = await flame(() => {
		const [callers, callees] = window.kilnUI.flame.sandwich();
		return {
			callers: callers.model.names[callers.model.name[1]],
			n: callees.model.n,
			head: document.querySelector('.k-sandwich-head .k-fn').textContent,
			hash: location.hash,
		};
	});
	assert.equal(r.head, 'hotA');
	assert.equal(r.callers, '(anonymous:L#41:C#34)', 'the direct caller of hotA');
	assert.equal(r.n, 1, 'hotA is a leaf: no callees');
	assert.match(r.hash, /fn=hotA/);
	await u.screenshot(page, 'ui-profile-sandwich');
});

test('timeline draws one lane per thread', async () => {
	await u.after(page, () => page.click('.k-tab[data-tab=timeline]'));
	await page.waitForFunction(() => window.kilnUI.timeline);
	const r = await flame(() => ({ lanes: window.kilnUI.timeline.threads, bars: window.kilnUI.timeline.bars(), inView: window.kilnUI.timeline.inView(), legend: document.querySelector('.k-legend').textContent }));
	assert.ok(r.lanes >= 1);
	assert.ok(r.bars > 500, `bars ${r.bars}`);
	assert.equal(r.inView, r.bars, 'every bar is inside the lane');
	assert.match(r.legend, /hotA/);
	// hovering a bar shows its thread and stack
	const pt = await flame(() => {
		const c = document.querySelector('.k-tl-canvas').getBoundingClientRect();
		const b = window.kilnUI.timeline.bar(Math.floor(window.kilnUI.timeline.bars() / 2));
		return { x: c.left + b.x, y: c.top + b.y };
	});
	await page.mouse.move(pt.x, pt.y);
	await page.waitForSelector('.k-tl-tip:not([hidden])');
	const tip = await page.textContent('.k-tl-tip');
	assert.match(tip, /Main Event Loop/);
	await u.screenshot(page, 'ui-profile-timeline');
});

test('metrics chart the service around the profile', async () => {
	await u.after(page, () => page.click('.k-tab[data-tab=metrics]'));
	const r = await flame(() => ({
		cpu: document.querySelectorAll('[data-measure=cpu_cores] circle').length,
		marker: document.querySelectorAll('.k-marker').length,
	}));
	assert.equal(r.cpu, 2, 'the two checkout profiles, not the other service');
	assert.ok(r.marker >= 1);
	await u.screenshot(page, 'ui-profile-metrics');
});

test('runtime info shows tags and runtime properties as text', async () => {
	await u.after(page, () => page.click('.k-tab[data-tab=info]'));
	const t = await page.textContent('.k-panel');
	assert.match(t, /runtime_version\s*v22\.23\.3/);
	assert.match(t, /runtime\.version\s*22\.23\.3/);
	assert.match(t, /team\s*intake/);
	await u.screenshot(page, 'ui-profile-info');
});

test('downloads: the upload as received and the pprof decompressed', async () => {
	const raw = await page.getAttribute('.k-dl-raw', 'href');
	const res = await fetch(server.url + raw);
	assert.equal(res.status, 200);
	assert.match(res.headers.get('content-type'), /multipart\/form-data/);
	const hrefs = await page.evaluate(() => Array.from(document.querySelectorAll('.k-dl-pprof')).map((a) => a.getAttribute('href')));
	const wall = hrefs.find((h) => h.endsWith('wall.pprof'));
	assert.ok(wall);
	const buf = Buffer.from(await (await fetch(server.url + wall)).arrayBuffer());
	assert.notEqual(buf[0], 0x1f, 'served decompressed');
	assert.ok(buf.includes(Buffer.from('hotA')));
	assert.ok(zlib.gzipSync(buf).length > 1000);
	assert.deepEqual(ui.blocked, []);
	assert.deepEqual(ui.errors, []);
	assert.deepEqual(ui.dialogs, []);
});

test('a profile compares with its service\'s hour before', async () => {
	const r = await (await fetch(server.url + '/api/v1/search?q=service:checkout')).json();
	await u.navigate(page, '#/profile/' + r.profiles[0].id);
	await u.after(page, () => page.click('.k-cmp-link'));
	await page.waitForSelector('.k-changes');
	const sum = await page.textContent('.k-cmp-sum');
	assert.match(sum, /A service:checkout.*: 1 profiles/);
	assert.match(sum, new RegExp('B id:' + r.profiles[0].id + '.*: 1 profiles'));
	// the same program twice: no function changed by more than a rounding error
	const d = await page.evaluate(() => window.kilnUI.compare.functions.map((f) => Math.abs(f.self_share_diff)));
	assert.ok(Math.max(...d) < 1e-9, `max change ${Math.max(...d)}`);
});

test('an unknown profile shows the API error', async () => {
	await u.navigate(page, '#/profile/999999');
	assert.match(await page.textContent('.k-error-inline'), /404/);
});
