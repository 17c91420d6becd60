// ui_sort.test.js: the profile list sorts on the server. 13 native profiles with known CPU
// (cpu-time over 10 s, with ties) and services are listed 5 per page: clicking a column
// header sorts every match, the sort stays in the URL, and page 2 continues page 1's order
// (checked against the values shown and against one unpaged API answer).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const u = require('./ui_lib.js');

const N = 13;
const LIMIT = 5;
let server, ui, page;

// CPU seconds of profile k (over 10 s: cores = cpu / 10); ties at 3 s and 6 s.
const cpuOf = (k) => [3, 9, 1, 6, 12, 3, 7, 6, 2, 11, 3, 5, 8][k];
const services = ['svc-m', 'svc-c', 'svc-x', 'svc-a', 'svc-q'];

test.before(async () => {
	server = await u.startServer();
	const now = Date.now();
	for (let k = 0; k < N; k++) {
		const cpu = cpuOf(k) * 1e9;
		await u.uploadNative(server, { service: services[k % services.length],
			startMs: now - (30 - k) * 60e3,
			stacks: { 'main;work;hot': cpu * 0.75, 'main;idle': cpu * 0.25 } });
	}
	ui = await u.openUI(server, `#/search?from=now-1h&limit=${LIMIT}`);
	page = ui.page;
});

test.after(async () => {
	if (ui) await ui.browser.close();
	if (server) await server.stop();
});

// The rows shown: [id, service, cpu cores].
const rows = () => page.evaluate(() => Array.from(document.querySelectorAll('.k-profiles tbody tr')).map((tr) =>
	[+tr.dataset.id, tr.querySelector('.k-svc').textContent, parseFloat(tr.children[5].textContent)]));

// The ids of every match in the server's order, in one page.
async function allIds(sort, order) {
	const r = await fetch(`${server.url}/api/v1/search?from=now-1h&limit=1000&facets=none&sort=${sort}&order=${order}`);
	assert.equal(r.status, 200);
	return (await r.json()).profiles.map((p) => p.id);
}

const hash = () => page.evaluate(() => location.hash);

test('clicking CPU sorts every match, and page 2 continues page 1', async () => {
	await u.after(page, () => page.click('.k-profiles th[data-sort=cpu_cores]'));
	assert.match(await hash(), /sort=cpu_cores/);
	assert.match(await hash(), /dir=desc/);
	const p1 = await rows();
	assert.equal(p1.length, LIMIT);
	assert.deepEqual(p1.map((r) => r[2]), [1.2, 1.1, 0.9, 0.8, 0.7], 'the largest CPU of all 13, not of the newest page');
	await u.screenshot(page, 'ui-sort-cpu-page1');
	await u.after(page, () => page.click('.k-next'));
	const h2 = await hash();
	assert.match(h2, /offset=5/);
	assert.match(h2, /sort=cpu_cores/, 'paging keeps the sort');
	const p2 = await rows();
	assert.deepEqual(p2.map((r) => r[2]), [0.6, 0.6, 0.5, 0.3, 0.3], 'page 2 continues below page 1');
	assert.ok(Math.min(...p1.map((r) => r[2])) >= Math.max(...p2.map((r) => r[2])));
	await u.after(page, () => page.click('.k-next'));
	const p3 = await rows();
	assert.deepEqual(p3.map((r) => r[2]), [0.3, 0.2, 0.1]);
	// no profile twice, none missing, and ties broken the same way as one unpaged answer
	const ids = p1.concat(p2, p3).map((r) => r[0]);
	assert.equal(new Set(ids).size, N);
	assert.deepEqual(ids, await allIds('cpu_cores', 'desc'));
	assert.match(await page.textContent('.k-pager'), /11–13 of 13, sorted by CPU, descending/);
	await u.screenshot(page, 'ui-sort-cpu-page3');
});

test('clicking again reverses; the previous page keeps the order', async () => {
	await u.after(page, () => page.click('.k-profiles th[data-sort=cpu_cores]'));
	assert.match(await hash(), /dir=asc/);
	assert.doesNotMatch(await hash(), /offset=/, 'a new order starts at its first page');
	const p1 = await rows();
	assert.deepEqual(p1.map((r) => r[2]), [0.1, 0.2, 0.3, 0.3, 0.3]);
	await u.after(page, () => page.click('.k-next'));
	await u.after(page, () => page.click('.k-prev'));
	assert.deepEqual(await rows(), p1);
	const th = await page.getAttribute('.k-profiles th[data-sort=cpu_cores]', 'aria-sort');
	assert.equal(th, 'ascending');
	// the headers work from the keyboard too
	await page.focus('.k-profiles th[data-sort=wall_seconds]');
	await u.after(page, () => page.keyboard.press('Enter'));
	assert.match(await hash(), /sort=wall_seconds&dir=desc/);
});

test('a deep link to page 2 of a service sort', async () => {
	await u.navigate(page, `#/search?from=now-1h&limit=${LIMIT}&sort=service&dir=asc&offset=5`);
	const all = await allIds('service', 'asc');
	const p2 = await rows();
	assert.deepEqual(p2.map((r) => r[0]), all.slice(5, 10));
	// services of all 13 ascending: a a c c c m m m q q x x x → page 2 is m m m q q
	assert.deepEqual(p2.map((r) => r[1]), ['svc-m', 'svc-m', 'svc-m', 'svc-q', 'svc-q']);
	assert.deepEqual(ui.errors, []);
	assert.deepEqual(ui.blocked, []);
});

test('an unknown sort field is shown as the API error', async () => {
	await u.navigate(page, '#/search?from=now-1h&sort=bogus');
	assert.match(await page.textContent('.k-error-inline'), /400 unknown sort field 'bogus'/);
});
