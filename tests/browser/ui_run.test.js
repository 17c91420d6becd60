// ui_run.test.js: kiln's own profiler feeding the UI end to end: `kiln run -U` profiles the
// demo workload (three jobs of known relative cost) and uploads to a real `kiln serve`; the
// search page lists the service and its profile page shows the jobs, heaviest first.
// Skipped where perf events are unavailable.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const u = require('./ui_lib.js');

const KILN = process.env.KILN_BIN;
const DEMO = path.join(process.env.KILN_BUILD_DIR || '', 'tests', 'integration', 'kiln-demo');

function perfUnavailable() {
	if (!fs.existsSync(DEMO)) return `${DEMO} not built`;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ui-perf-'));
	try {
		execFileSync(KILN, ['run', '--fail-on-error', '--output-dir', dir, '--', 'true'], { stdio: 'pipe' });
		return null;
	} catch (e) {
		return 'perf events unavailable: ' + String(e.stderr || e.message).trim();
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

const skip = perfUnavailable();
let server, ui, page;

test.after(async () => {
	if (ui) await ui.browser.close();
	if (server) await server.stop();
});

test('kiln run uploads to kiln serve and the UI shows the demo jobs', { skip: skip || false }, async () => {
	server = await u.startServer();
	execFileSync(KILN, ['run', '-U', server.url, '-S', 'demo-svc', '-E', 'ci', '-u', '2',
		'-e', 'sCPU freq=199', '--', DEMO, '4'], { stdio: ['ignore', 'ignore', 'pipe'] });
	ui = await u.openUI(server, '#/search?from=now-1h&q=service%3Ademo-svc');
	page = ui.page;
	const rows = await page.evaluate(() => Array.from(document.querySelectorAll('.k-profiles tbody tr')).map((tr) => tr.textContent));
	assert.ok(rows.length >= 1, 'at least one profile uploaded');
	assert.match(rows[0], /demo-svc/);
	assert.match(rows[0], /native/);
	await u.screenshot(page, 'ui-run-search');

	// every profile of the run merged: enough samples for stable shares
	await u.navigate(page, '#/search?from=now-1h&q=service%3Ademo-svc&view=flame&type=cpu-time%2Fnanoseconds');
	await page.waitForSelector('.kf-table');
	const r = await page.evaluate(() => {
		const m = window.kilnUI.flame.flame.model, share = (n) => m.fself[m.names.indexOf(n)] / m.total[0];
		return {
			top: document.querySelector('.kf-table tbody td.kf-name').textContent,
			jobs: share('compress_block') + share('hash_password') + share('parse_request'),
			compress: share('compress_block'), parse: share('parse_request'),
		};
	});
	assert.equal(r.top, 'compress_block', 'the heaviest job (500k xor-shifts per request)');
	assert.ok(r.jobs > 0.8, `the three jobs hold ${r.jobs} of the CPU time`);
	assert.ok(r.compress > 2 * r.parse, `compress_block ${r.compress} vs parse_request ${r.parse}`);
	await u.screenshot(page, 'ui-run-aggregate');

	// one profile's page draws the same functions
	await u.navigate(page, '#/search?from=now-1h&q=service%3Ademo-svc');
	await u.after(page, () => page.click('.k-profiles tbody tr:last-child .k-svc'));
	await page.waitForSelector('.kf-table');
	const names = await page.evaluate(() => Array.from(document.querySelectorAll('.kf-table td.kf-name')).map((e) => e.textContent));
	for (const f of ['compress_block', 'hash_password', 'handle_request', 'worker'])
		assert.ok(names.includes(f), `${f} in the profile's table: ${names}`);
	await u.screenshot(page, 'ui-run-profile');
	// kiln's samples carry timestamps and thread ids: one lane per thread of the demo
	await u.after(page, () => page.click('.k-tab[data-tab=timeline]'));
	await page.waitForFunction(() => window.kilnUI.timeline);
	const tl = await page.evaluate(() => ({ lanes: window.kilnUI.timeline.threads, bars: window.kilnUI.timeline.bars(),
		inView: window.kilnUI.timeline.inView(), names: window.kilnUI.timeline.data.threads.map((t) => t.thread_name) }));
	assert.equal(tl.lanes, 2, `the demo's two threads: ${tl.names}`);
	assert.ok(tl.bars > 20 && tl.inView === tl.bars, `bars ${tl.bars}, in view ${tl.inView}`);
	await u.screenshot(page, 'ui-run-timeline');
	assert.deepEqual(ui.blocked, []);
	assert.deepEqual(ui.errors, []);
});
