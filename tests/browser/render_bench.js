// render_bench.js: how long the shared flame graph component takes to show a big tree, in
// Debian's chromium: a `kiln report --html` page (html_gen big N, the same page shape `kiln
// report --html` writes) is opened RUNS times in fresh tabs; each run records the page's
// main-thread CPU (CDP Performance ThreadTime) from navigation until the graph is drawn, the
// wall time of the same span, and the component's own init time (JSON.parse + model + table
// + first draw, performance.now() in the page). With --profile, one more run is recorded
// with the CDP sampling profiler and the functions with the most self time are listed.
//
// Not a ctest (timings are not assertions): run it from a build directory,
//   KILN_HTML_GEN=build/tests/browser/html_gen NODE_PATH=tests/browser/node_modules \
//     node tests/browser/render_bench.js [--stacks 14000] [--runs 5] [--profile]
// It prints one JSON object (medians) on stdout.
'use strict';

const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib.js');

function arg(name, def) {
	const i = process.argv.indexOf('--' + name);
	return i < 0 ? def : process.argv[i + 1];
}
const STACKS = +arg('stacks', 14000);
const RUNS = Math.max(+arg('runs', 5), 1);
const PROFILE = process.argv.includes('--profile');

const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];

async function one(browser, html, profile) {
	const page = await browser.context.newPage();
	const cdp = await browser.context.newCDPSession(page);
	await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
	const cpu = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ThreadTime').value;
	if (profile) {
		await cdp.send('Profiler.enable');
		await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
		await cdp.send('Profiler.start');
	}
	const c0 = await cpu();
	const t0 = Date.now();
	await page.goto('file://' + path.resolve(html));
	await page.waitForFunction(() => window.kilnReport !== undefined, null, { polling: 10 });
	const wall = Date.now() - t0;
	const c1 = await cpu();
	const r = await page.evaluate(() => ({ err: window.kilnReport.error, init: window.kilnReport.renderMs,
		loaded: window.kilnReport.loadedMs, nodes: window.kilnReport.flame.stats().nodes,
		draw: window.kilnReport.flame.stats().lastDrawMs }));
	if (r.err) throw new Error('page error: ' + r.err);
	let prof = null;
	if (profile) prof = (await cdp.send('Profiler.stop')).profile;
	await page.close();
	return { cpuMs: (c1 - c0) * 1000, wallMs: wall, initMs: r.init, loadedMs: r.loaded, drawMs: r.draw,
		nodes: r.nodes, prof };
}

// Self time per function (ms) of a CDP profile, largest first.
function topSelf(prof, n) {
	const byId = new Map(prof.nodes.map((x) => [x.id, x]));
	const self = new Map();
	const dt = prof.timeDeltas || [];
	for (let i = 0; i < prof.samples.length; i++) {
		const node = byId.get(prof.samples[i]);
		const f = node.callFrame;
		const key = `${f.functionName || '(anonymous)'} ${path.basename(f.url || '') || ''}:${f.lineNumber + 1}`;
		self.set(key, (self.get(key) || 0) + (dt[i] || 0) / 1000);
	}
	return Array.from(self.entries()).sort((a, b) => b[1] - a[1]).slice(0, n)
		.map(([k, v]) => [k, +v.toFixed(1)]);
}

(async () => {
	const html = path.join(os.tmpdir(), `kiln-render-bench-${process.pid}.html`);
	lib.run(lib.env('KILN_HTML_GEN'), ['big', String(STACKS), html]);
	const browser = await lib.launch();
	try {
		await one(browser, html, false); // warm the browser's caches once
		const runs = [];
		for (let i = 0; i < RUNS; i++) runs.push(await one(browser, html, false));
		const out = {
			stacks: STACKS, nodes: runs[0].nodes, pageBytes: fs.statSync(html).size, runs: RUNS,
			cpuMs: Math.round(median(runs.map((r) => r.cpuMs))),
			wallMs: Math.round(median(runs.map((r) => r.wallMs))),
			initMs: Math.round(median(runs.map((r) => r.initMs))),
			loadedMs: Math.round(median(runs.map((r) => r.loadedMs))),
			firstDrawMs: Math.round(median(runs.map((r) => r.drawMs))),
			loadavg: os.loadavg().map((x) => +x.toFixed(2)),
		};
		if (PROFILE) out.topSelfMs = topSelf((await one(browser, html, true)).prof, 15);
		console.log(JSON.stringify(out, null, 1));
	} finally {
		await browser.close();
		fs.rmSync(html, { force: true });
	}
})().catch((e) => {
	console.error(e);
	process.exit(1);
});
