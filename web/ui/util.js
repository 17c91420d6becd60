/*
 * util.js: shared helpers of the kiln web UI: DOM building (text only, never HTML parsing),
 * the JSON API client with visible errors, the hash URL state, time and value formatting, and
 * the conversion of the server's flame graph tree to the KilnFlame component's compact form.
 */

/* h('div', {class: 'x', onclick: fn, title: 't'}, 'text', child…): an element whose text
 * children become text nodes. Data from uploads must only ever pass through here. */
export function h(tag, attrs, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v == null || v === false) continue;
		if (k === 'class') e.className = v;
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else if (k === 'dataset') Object.assign(e.dataset, v);
		else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'hidden')
			e[k] = v;
		else e.setAttribute(k, v === true ? '' : String(v));
	}
	append(e, children);
	return e;
}

function append(e, children) {
	for (const c of children) {
		if (c == null || c === false) continue;
		if (Array.isArray(c)) append(e, c);
		else if (c instanceof Node) e.appendChild(c);
		else e.appendChild(document.createTextNode(String(c)));
	}
}

export function clear(e) {
	while (e.firstChild) e.removeChild(e.firstChild);
	return e;
}

/* ---- API ------------------------------------------------------------------------------ */

export class ApiError extends Error {}

/* GET /api/v1/PATH?params as JSON; throws ApiError with the server's message. */
export async function api(path, params) {
	const qs = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {}))
		if (v != null && v !== '') qs.set(k, String(v));
	const url = '/api/v1/' + path + (qs.toString() ? '?' + qs : '');
	let res;
	try {
		res = await fetch(url, { headers: { Accept: 'application/json' } });
	} catch (e) {
		throw new ApiError('cannot reach kiln serve: ' + e.message);
	}
	let body = null;
	try {
		body = await res.json();
	} catch (e) {
		if (res.ok) throw new ApiError(`${path}: the answer is not JSON`);
	}
	if (!res.ok) {
		const msg = body && body.error ? body.error : res.statusText;
		throw new ApiError(`${path}: ${res.status} ${msg}`);
	}
	return body;
}

export function apiUrl(path) {
	return '/api/v1/' + path;
}

/* Shows an error in the page's banner (or clears it with null). */
export function showError(err) {
	const box = document.getElementById('k-error');
	if (!err) {
		box.hidden = true;
		clear(box);
		return;
	}
	box.hidden = false;
	clear(box).appendChild(document.createTextNode(String(err.message || err)));
}

/* An inline error block for a panel. */
export function errorBlock(err) {
	return h('div', { class: 'k-error-inline', role: 'alert' }, String(err.message || err));
}

/* ---- URL state: #/route?k=v ----------------------------------------------------------- */

export function parseHash() {
	const raw = location.hash.replace(/^#/, '') || '/search';
	const qi = raw.indexOf('?');
	const path = qi < 0 ? raw : raw.slice(0, qi);
	const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
	const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
	return { parts, params };
}

export function hashOf(parts, params) {
	const p = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {}))
		if (v != null && v !== '') p.set(k, String(v));
	const s = p.toString();
	return '#/' + parts.map(encodeURIComponent).join('/') + (s ? '?' + s : '');
}

/* Replaces the URL without a new history entry and without re-rendering. */
export function replaceHash(hash) {
	if (location.hash !== hash) history.replaceState(null, '', hash);
}

/* ---- time ----------------------------------------------------------------------------- */

const UNIT_MS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/* A from/to parameter (ms, RFC 3339, now, now-15m) as epoch ms, or null. */
export function toMs(s, now) {
	if (s == null || s === '') return null;
	now = now || Date.now();
	if (s === 'now') return now;
	let m = /^now-(\d+)([smhdw])$/.exec(s);
	if (m) return now - +m[1] * UNIT_MS[m[2]];
	if (/^\d+$/.test(s)) return +s;
	const t = Date.parse(s);
	return isNaN(t) ? null : t;
}

export function fmtTime(ms) {
	if (ms == null || isNaN(ms)) return '';
	const d = new Date(ms);
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
		`${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/* For <input type=datetime-local>. */
export function toLocalInput(ms) {
	if (ms == null) return '';
	const d = new Date(ms);
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
		`${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fmtDuration(ms) {
	if (!(ms >= 0)) return '';
	if (ms < 1000) return ms.toFixed(0) + ' ms';
	const s = ms / 1000;
	if (s < 120) return (s < 10 ? s.toFixed(1) : s.toFixed(0)) + ' s';
	if (s < 7200) return (s / 60).toFixed(1) + ' min';
	return (s / 3600).toFixed(1) + ' h';
}

/* ---- values --------------------------------------------------------------------------- */

export function fmtValue(v, unit) {
	if (v == null) return '–';
	return window.KilnFlame ? window.KilnFlame.formatValue(v, unit) : String(v);
}

export function fmtMeasure(key, v) {
	if (v == null) return '–';
	switch (key) {
	case 'cpu_cores': return v.toFixed(v < 10 ? 2 : 1) + ' cores';
	case 'alloc_bytes_per_s': return fmtValue(v, 'bytes') + '/s';
	case 'heap_live_bytes': return fmtValue(v, 'bytes');
	case 'wall_seconds': return v.toFixed(1) + ' s';
	default: return String(Math.round(v * 100) / 100);
	}
}

export const MEASURES = [
	['cpu_cores', 'CPU cores'],
	['alloc_bytes_per_s', 'Allocation rate'],
	['wall_seconds', 'Wall time'],
	['heap_live_bytes', 'Live heap'],
];

export function pct(x) {
	return (x * 100).toFixed(Math.abs(x) >= 0.1 ? 1 : 2) + ' %';
}

export function unitOf(type) {
	const i = (type || '').indexOf('/');
	return i < 0 ? '' : type.slice(i + 1);
}

/* ---- flame graph data ------------------------------------------------------------------- */

/* The server's tree ({names, name, parent, total, …}) as KilnFlame's compact form; value(i)
 * picks each node's width (default: total). */
export function toCompact(tree, value) {
	const n = tree.count != null ? tree.count : tree.name.length;
	const depth = new Array(n), val = new Array(n);
	for (let i = 0; i < n; i++) {
		const p = tree.parent[i];
		depth[i] = p < 0 ? 0 : depth[p] + 1;
		val[i] = value ? value(i) : tree.total[i];
	}
	/* the server keeps one entry per (name, file): merge equal names for the table */
	const names = [], ids = new Map(), remap = tree.names.map((nm, i) => {
		const key = i === 0 ? '\u0000root' : nm;
		let id = ids.get(key);
		if (id === undefined) {
			id = names.length;
			names.push(i === 0 ? 'all' : nm);
			ids.set(key, id);
		}
		return id;
	});
	const name = new Array(n);
	for (let i = 0; i < n; i++) name[i] = remap[tree.name[i]];
	return { names, name, value: val, depth };
}

export function hashColor(s) {
	let x = 2166136261;
	for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619);
	x >>>= 0;
	return `hsl(${x % 360},55%,${55 + ((x >>> 9) % 15)}%)`;
}
