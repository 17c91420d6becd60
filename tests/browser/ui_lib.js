// ui_lib.js: helpers of the web UI's browser tests: start a real `kiln serve` on a free port
// with a temporary store, upload the dd-trace-js fixture with a changed identity and time, or
// a small synthetic native pprof (a kiln-profiler-shaped upload), and open the UI in chromium
// with every request outside 127.0.0.1 blocked.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const lib = require('./lib.js');

const FIX = () => path.join(lib.env('KILN_FIXTURES'), 'dd-trace-js', 'node22-gzip-periodic');

// Starts kiln serve; returns {url, port, stop()}.
async function startServer() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ui-'));
	const log = path.join(dir, 'serve.log');
	const out = fs.openSync(log, 'w');
	const proc = spawn(lib.env('KILN_BIN'), ['serve', '--listen', '127.0.0.1:0', '--store',
		path.join(dir, 'data')], { stdio: ['ignore', out, out] });
	let port = null;
	for (let i = 0; i < 600 && !port; i++) {
		await new Promise((r) => setTimeout(r, 50));
		const m = /listening on .*\(port (\d+)\)/.exec(fs.readFileSync(log, 'utf8'));
		if (m) port = +m[1];
		if (proc.exitCode != null) break;
	}
	if (!port) {
		proc.kill();
		throw new Error('kiln serve did not start: ' + fs.readFileSync(log, 'utf8'));
	}
	return {
		port,
		url: `http://127.0.0.1:${port}`,
		log: () => fs.readFileSync(log, 'utf8'),
		async stop() {
			if (proc.exitCode == null) {
				const done = new Promise((r) => proc.once('exit', r));
				proc.kill('SIGTERM');
				await done;
			}
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

function boundaryOf(headers) {
	const m = /boundary=([^\s;]+)/.exec(headers);
	if (!m) throw new Error('no boundary in request-headers.txt');
	return m[1];
}

// The fixture's body with its event part edited by edit(event) (an object).
function fixtureUpload(edit) {
	const headers = fs.readFileSync(path.join(FIX(), 'request-headers.txt'), 'latin1');
	const body = fs.readFileSync(path.join(FIX(), 'request.body'));
	const boundary = boundaryOf(headers);
	const contentType = /Content-Type: ([^\r\n]+)/i.exec(headers)[1];
	const start = body.indexOf('\r\n\r\n') + 4;
	const end = body.indexOf('\r\n--' + boundary, start);
	const ev = JSON.parse(body.subarray(start, end).toString('utf8'));
	edit(ev);
	const json = Buffer.from(JSON.stringify(ev), 'utf8');
	return { contentType, body: Buffer.concat([body.subarray(0, start), json, body.subarray(end)]) };
}

// Sets a tag in the comma-joined tags_profiler string.
function setTag(ev, key, value) {
	const tags = ev.tags_profiler.split(',').filter((t) => !t.startsWith(key + ':'));
	tags.push(key + ':' + value);
	ev.tags_profiler = tags.join(',');
}

async function post(server, up, headers) {
	const res = await fetch(server.url + '/profiling/v1/input', {
		method: 'POST',
		headers: { 'Content-Type': up.contentType, ...(headers || {}) },
		body: up.body,
	});
	const text = await res.text();
	if (res.status >= 300) throw new Error(`upload answered ${res.status}: ${text}`);
}

// Uploads the dd-trace-js fixture as service `service` at startMs (10 s long) with tags.
async function uploadNode(server, { service, startMs, host, env, tags }) {
	const up = fixtureUpload((ev) => {
		ev.start = new Date(startMs).toISOString();
		ev.end = new Date(startMs + 10070).toISOString();
		setTag(ev, 'service', service);
		if (env) setTag(ev, 'env', env);
		if (host) setTag(ev, 'host', host);
		for (const [k, v] of Object.entries(tags || {})) setTag(ev, k, v);
		if (ev.info && ev.info.application) ev.info.application.service = service;
	});
	await post(server, up, { 'DD-EVP-ORIGIN': 'dd-trace-js', 'DD-EVP-ORIGIN-VERSION': '6.21.0' });
}

// ---- a minimal protobuf writer for a synthetic pprof ----

function varint(n) {
	const out = [];
	let v = BigInt(n);
	do {
		let b = Number(v & 0x7fn);
		v >>= 7n;
		if (v) b |= 0x80;
		out.push(b);
	} while (v);
	return Buffer.from(out);
}
const key = (field, wire) => varint((field << 3) | wire);
const vfield = (field, n) => Buffer.concat([key(field, 0), varint(n)]);
const lfield = (field, buf) => Buffer.concat([key(field, 2), varint(buf.length), buf]);
const packed = (field, arr) => lfield(field, Buffer.concat(arr.map(varint)));

// A profile shaped like kiln's profiler's (cpu-samples/count, cpu-time/nanoseconds) of stacks {"main;work;hotX": ns}, as profile.proto bytes.
function nativePprof(stacks, startMs, durationMs) {
	const strings = [''], sid = (s) => {
		let i = strings.indexOf(s);
		if (i < 0) { i = strings.length; strings.push(s); }
		return i;
	};
	const funcs = new Map();
	const fid = (name) => {
		if (!funcs.has(name)) funcs.set(name, funcs.size + 1);
		return funcs.get(name);
	};
	const parts = [];
	parts.push(lfield(1, Buffer.concat([vfield(1, sid('cpu-samples')), vfield(2, sid('count'))])));
	parts.push(lfield(1, Buffer.concat([vfield(1, sid('cpu-time')), vfield(2, sid('nanoseconds'))])));
	for (const [stack, ns] of Object.entries(stacks)) {
		const locs = stack.split(';').map(fid).reverse(); // leaf first
		parts.push(lfield(2, Buffer.concat([packed(1, locs), packed(2, [Math.round(ns / 1e7), ns])])));
	}
	parts.push(lfield(3, Buffer.concat([vfield(1, 1), vfield(2, 0x400000), vfield(3, 0x500000),
		vfield(5, sid('/usr/bin/app'))])));
	for (const [name, id] of funcs) {
		parts.push(lfield(4, Buffer.concat([vfield(1, id), vfield(2, 1), vfield(3, 0x400000 + id * 16),
			lfield(4, Buffer.concat([vfield(1, id), vfield(2, 10 + id)]))])));
		parts.push(lfield(5, Buffer.concat([vfield(1, id), vfield(2, sid(name)), vfield(3, sid(name)),
			vfield(4, sid('app.c'))])));
	}
	const st = strings.map((s) => lfield(6, Buffer.from(s, 'utf8')));
	return Buffer.concat([...parts, ...st, vfield(9, BigInt(startMs) * 1000000n),
		vfield(10, BigInt(durationMs) * 1000000n),
		lfield(11, Buffer.concat([vfield(1, sid('cpu-time')), vfield(2, sid('nanoseconds'))])),
		vfield(12, 10000000)]);
}

// Uploads a native (kiln-profiler-shaped) profile: one profile.pprof attachment, plain.
async function uploadNative(server, { service, startMs, stacks, host }) {
	const boundary = 'kilnuitest' + Math.random().toString(16).slice(2);
	const ev = {
		attachments: ['profile.pprof'], start: new Date(startMs).toISOString(),
		end: new Date(startMs + 10000).toISOString(), family: 'native', version: '4',
		tags_profiler: `service:${service},env:ci,host:${host || 'node-1'},language:native,runtime:native,profiler_version:kiln-test`,
		info: { runtime: { engine: 'native' } },
	};
	const pprof = nativePprof(stacks, startMs, 10000);
	const part = (name, file, type, data) => Buffer.concat([Buffer.from(`--${boundary}\r\n` +
		`Content-Disposition: form-data; name="${name}"; filename="${file}"\r\n` +
		`Content-Type: ${type}\r\n\r\n`), data, Buffer.from('\r\n')]);
	const body = Buffer.concat([part('event', 'event.json', 'application/json', Buffer.from(JSON.stringify(ev))),
		part('profile.pprof', 'profile.pprof', 'application/octet-stream', pprof), Buffer.from(`--${boundary}--\r\n`)]);
	await post(server, { contentType: `multipart/form-data; boundary=${boundary}`, body },
		{ 'DD-EVP-ORIGIN': 'kiln', 'DD-EVP-ORIGIN-VERSION': '0.1' });
}

// A chromium page that may only reach the server. Returns {page, errors, dialogs, blocked}.
async function openUI(server, hash) {
	const browser = await lib.launch();
	// lib.launch routes everything to abort except file:/data:; let the server through.
	await browser.context.unroute('**');
	await browser.context.route('**', (route) => {
		const url = route.request().url();
		if (url.startsWith(server.url + '/') || url.startsWith('data:')) return route.continue();
		browser.blocked.push(url);
		return route.abort();
	});
	const page = await browser.context.newPage();
	const errors = [], dialogs = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
	page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
	await page.goto(server.url + '/' + (hash || ''));
	await ready(page);
	return { browser, page, errors, dialogs, blocked: browser.blocked };
}

// Waits until the UI finished rendering the current route (after a navigation).
async function ready(page, renders) {
	await page.waitForFunction((n) => window.kilnUI && window.kilnUI.ready &&
		(n == null || window.kilnUI.renders > n), renders);
}

async function navigate(page, hash) {
	const n = await page.evaluate(() => window.kilnUI.renders);
	await page.evaluate((h) => { location.hash = h; }, hash);
	await ready(page, n);
}

// Runs act() (a click…) that changes the route, and waits for the new render.
async function after(page, act) {
	const n = await page.evaluate(() => window.kilnUI.renders);
	await act();
	await ready(page, n);
}

module.exports = { startServer, uploadNode, uploadNative, nativePprof, openUI, ready, navigate, after,
	screenshot: lib.screenshot };
