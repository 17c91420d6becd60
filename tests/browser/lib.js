// lib.js: shared helpers of kiln's browser tests: launch Debian's chromium headless through
// playwright-core with a fresh profile, open a page with every network request blocked and
// recorded, collect page errors and dialogs, run kiln helpers, save screenshots.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

let chromium;
try {
	({ chromium } = require('playwright-core'));
} catch (e) {
	throw new Error('browser tests: playwright-core is missing: run `make deps` ' +
		'(npm ci in tests/browser): ' + e.message);
}

const CHROMIUM = process.env.KILN_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
	'--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

function env(name) {
	const v = process.env[name];
	if (!v) throw new Error(`browser tests: ${name} is not set (run through ctest)`);
	return v;
}

function artifactsDir() {
	const dir = process.env.KILN_ARTIFACTS ||
		path.join(process.env.KILN_BUILD_DIR || os.tmpdir(), 'browser-artifacts');
	fs.mkdirSync(dir, { recursive: true });
	return dir;
}

// A fresh chromium with its own user-data dir; close() removes it.
async function launch() {
	if (!fs.existsSync(CHROMIUM))
		throw new Error(`browser tests: ${CHROMIUM} not found: install Debian's chromium ` +
			'(`make deps`)');
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-chromium-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: ARGS,
		viewport: { width: 1400, height: 900 },
	});
	// the CI machine is shared and slow at times: wait generously, never assert on time
	context.setDefaultTimeout(120000);
	const blocked = [];
	await context.route('**', (route) => {
		const url = route.request().url();
		if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
		blocked.push(url);
		return route.abort();
	});
	return {
		context,
		blocked,
		async close() {
			await context.close();
			fs.rmSync(profile, { recursive: true, force: true });
		},
	};
}

// Opens file `htmlPath`; returns {page, errors, dialogs, requests} where requests lists every
// request the page made (all must be file: URLs).
// With cpu = true, also returns cpu(): the CPU seconds the page's main thread has used
// (Chrome's ThreadTime metric), a measure the machine's load barely changes.
async function open(browser, htmlPath, { cpu = false } = {}) {
	const page = await browser.context.newPage();
	let cdp = null;
	if (cpu) {
		cdp = await browser.context.newCDPSession(page);
		await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
	}
	const errors = [], dialogs = [], requests = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
	page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
	page.on('request', (r) => requests.push(r.url()));
	await page.goto('file://' + path.resolve(htmlPath));
	await page.waitForFunction(() => window.kilnReport !== undefined);
	const cpuTime = async () => {
		const { metrics } = await cdp.send('Performance.getMetrics');
		return metrics.find((m) => m.name === 'ThreadTime').value;
	};
	return { page, errors, dialogs, requests, cpu: cdp ? cpuTime : null };
}

// Runs a program and returns its stdout; throws with its stderr on failure.
function run(bin, args) {
	try {
		return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
	} catch (e) {
		throw new Error(`${bin} ${args.join(' ')} failed: ${e.stderr || e.message}`);
	}
}

// Where a test writes a page it then opens (kept with the screenshots).
function tmpFile(name) {
	return path.join(artifactsDir(), name);
}

async function screenshot(page, name) {
	const file = path.join(artifactsDir(), name + '.png');
	await page.screenshot({ path: file, fullPage: true });
	return file;
}

// The centre of node i's frame in page coordinates (for mouse moves and clicks).
async function frameCenter(page, i) {
	return page.evaluate((i) => {
		const f = window.kilnReport.flame, r = f.frameRect(i);
		const c = f.canvas.getBoundingClientRect();
		return r && { x: c.left + r.x + r.w / 2, y: c.top + r.y + r.h / 2, w: r.w };
	}, i);
}

// The RGBA of the canvas pixel at CSS position (x, y) of the canvas.
async function pixel(page, x, y) {
	return page.evaluate(([x, y]) => {
		const cv = window.kilnReport.flame.canvas, s = cv.width / cv.clientWidth;
		return Array.from(cv.getContext('2d').getImageData(Math.floor(x * s),
			Math.floor(y * s), 1, 1).data);
	}, [x, y]);
}

module.exports = { env, launch, open, run, tmpFile, screenshot, frameCenter, pixel, artifactsDir };
