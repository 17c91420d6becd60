/*
 * search.js: the landing page: time range, query box, facet sidebar, the measures over time,
 * and either the list of matching profiles or one aggregated flame graph of them all.
 * URL: #/search?q=…&from=…&to=…&view=list|flame&type=…&offset=…&sort=…&dir=…&facets=…
 */
import {
	h, clear, api, errorBlock, hashOf, replaceHash, toMs, fmtTime, fmtDuration, fmtMeasure,
	MEASURES, unitOf, toLocalInput,
} from './util.js';
import { lineChart } from './chart.js';
import { mountFlame } from './flame.js';

export const RANGES = [
	['now-15m', 'Last 15 minutes'], ['now-1h', 'Last 1 hour'], ['now-4h', 'Last 4 hours'],
	['now-1d', 'Last 1 day'], ['now-7d', 'Last 7 days'],
];
export const DEFAULT_FROM = 'now-1d';
const FACETS = [['env', 'Env'], ['service', 'Service'], ['version', 'Version'], ['host', 'Host'],
	['runtime', 'Runtime'], ['language', 'Language']];
const PAGE = 50; /* rows per page unless the URL says limit= */

/* The query's terms, split like the server does (quotes keep spaces). */
export function splitQuery(q) {
	const out = [];
	const re = /\s*(-?[^\s"]*(?:"(?:[^"\\]|\\.)*"[^\s]*)?)/g;
	let m;
	while ((m = re.exec(q)) && m[0]) if (m[1]) out.push(m[1]);
	return out;
}

export function quoteValue(v) {
	return /[\s"\\]/.test(v) || v === '' ? '"' + v.replace(/[\\"]/g, (c) => '\\' + c) + '"' : v;
}

/* Adds key:value (or -key:value), replacing the same term or its negation; again = remove. */
export function toggleTerm(q, key, value, negate) {
	const term = key + ':' + quoteValue(value);
	const terms = splitQuery(q);
	const had = terms.indexOf((negate ? '-' : '') + term) >= 0;
	const rest = terms.filter((t) => t !== term && t !== '-' + term);
	if (!had) rest.push((negate ? '-' : '') + term);
	return rest.join(' ');
}

/* A step for the range so that a chart has about 60 points, at least 10 s. */
export function stepFor(fromMs, toMs) {
	const span = Math.max(toMs - fromMs, 60000);
	const steps = [10e3, 30e3, 60e3, 300e3, 600e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 86400e3];
	for (const s of steps) if (span / s <= 80) return s;
	return 86400e3;
}

export function rangePicker(from, to, onChange) {
	const sel = h('select', { class: 'k-range', 'aria-label': 'Time range' });
	let known = false;
	for (const [v, label] of RANGES) {
		const on = from === v && (!to || to === 'now');
		known = known || on;
		sel.appendChild(h('option', { value: v, selected: on }, label));
	}
	sel.appendChild(h('option', { value: 'custom', selected: !known }, 'Custom…'));
	const f = h('input', { type: 'datetime-local', class: 'k-from', 'aria-label': 'From', value: toLocalInput(toMs(from)) });
	const t = h('input', { type: 'datetime-local', class: 'k-to', 'aria-label': 'To', value: toLocalInput(toMs(to) || Date.now()) });
	const custom = h('span', { class: 'k-custom', hidden: known }, f, ' – ', t,
		h('button', { class: 'k-btn', onclick: () => {
			const a = Date.parse(f.value), b = Date.parse(t.value);
			if (!isNaN(a)) onChange(String(a), isNaN(b) ? '' : String(b));
		} }, 'Apply'));
	sel.addEventListener('change', () => {
		if (sel.value === 'custom') custom.hidden = false;
		else onChange(sel.value, '');
	});
	return h('span', { class: 'k-rangebox' }, sel, custom);
}

export async function renderSearch(main, params) {
	const st = {
		q: params.get('q') || '',
		from: params.get('from') || DEFAULT_FROM,
		to: params.get('to') || '',
		view: params.get('view') || 'list',
		type: params.get('type') || '',
		offset: +params.get('offset') || 0,
		limit: params.get('limit') || '',
		sort: params.get('sort') || '',
		dir: params.get('dir') || '',
		facets: params.get('facets') || '',
		group: params.get('group') || '',
		zoom: params.get('zoom'), search: params.get('search'), fn: params.get('fn'),
		inverted: params.get('inverted'),
	};
	const go = (patch) => { location.hash = hashOf(['search'], { ...st, offset: null, zoom: null, search: null, fn: null, ...patch }); };
	const keep = (patch) => { Object.assign(st, patch); replaceHash(hashOf(['search'], st)); };
	const qbox = h('input', { type: 'search', class: 'k-query', value: st.q, 'aria-label': 'Query', placeholder: 'service:checkout env:prod -host:web-3 team:core' });
	const form = h('form', { class: 'k-bar', onsubmit: (ev) => { ev.preventDefault(); go({ q: qbox.value.trim() }); } },
		rangePicker(st.from, st.to, (from, to) => go({ from, to })), qbox,
		h('button', { class: 'k-btn k-primary', type: 'submit' }, 'Search'),
		h('a', { class: 'k-btn', href: compareHref(st) }, 'Compare…'));
	/* the query's terms as chips: an excluded value leaves the facets, its chip stays */
	const terms = splitQuery(st.q);
	const chips = h('div', { class: 'k-chips', hidden: !terms.length },
		terms.map((t) => h('span', { class: 'k-chip' + (t.startsWith('-') ? ' k-chip-neg' : ''), dataset: { term: t } }, t,
			h('button', { class: 'k-chip-x', title: 'Remove ' + t, 'aria-label': 'Remove ' + t,
				onclick: () => go({ q: terms.filter((x) => x !== t).join(' ') }) }, '×'))));
	const groupSel = h('select', { class: 'k-group', 'aria-label': 'Chart lines per' },
		[['', 'one line'], ['service', 'per service'], ['env', 'per env'], ['version', 'per version'], ['host', 'per host']]
			.map(([v, l]) => h('option', { value: v, selected: st.group === v }, l)));
	groupSel.addEventListener('change', () => go({ group: groupSel.value, view: st.view, type: st.type }));
	const strip = h('div', { class: 'k-strip' });
	const side = h('aside', { class: 'k-facets' }, h('p', { class: 'k-muted' }, 'Loading facets…'));
	const body = h('section', { class: 'k-results' });
	clear(main).appendChild(h('div', { class: 'k-page k-search' }, form, chips,
		h('div', { class: 'k-strip-bar k-muted' }, 'Measures of the matching profiles over the range, ', groupSel), strip,
		h('div', { class: 'k-split' }, side, body)));

	const common = { q: st.q, from: st.from, to: st.to };
	const extra = st.facets.split(',').map((s) => s.trim()).filter(Boolean);
	const limit = Math.min(Math.max(+st.limit || PAGE, 1), 1000);
	/* the server sorts (sort=, order=) so that every page continues the previous one */
	const searchP = api('search', { ...common, limit, offset: st.offset, facets: extra.join(','),
		sort: st.sort, order: st.sort ? st.dir : '' });
	const stripDone = renderStrip(strip, common, st.group);
	let res;
	try {
		res = await searchP;
	} catch (e) {
		strip.hidden = true;
		side.hidden = true;
		clear(body).appendChild(errorBlock(e));
		body.appendChild(h('p', { class: 'k-muted' }, 'Queries are key:value terms separated by spaces, ' +
			'e.g. ', h('code', null, 'service:checkout env:prod -host:web-3 version:1.*'), '.'));
		return;
	}
	renderFacets(side, res.facets || {}, extra, st, go);
	const tabs = h('div', { class: 'k-tabs', role: 'tablist' },
		h('a', { class: 'k-tab' + (st.view === 'list' ? ' k-on' : ''), href: hashOf(['search'], { ...st, view: null, zoom: null, search: null, fn: null }) }, `Profiles (${res.total})`),
		h('a', { class: 'k-tab' + (st.view === 'flame' ? ' k-on' : ''), href: hashOf(['search'], { ...st, view: 'flame', offset: null }) }, 'Aggregated flame graph'));
	body.appendChild(tabs);
	if (!res.total) {
		body.appendChild(emptyState(st));
		await stripDone;
		return;
	}
	const panel = h('div', { class: 'k-panel' });
	body.appendChild(panel);
	if (st.view === 'flame') await renderAggregate(panel, st, common, keep, go);
	else renderList(panel, res, st, go);
	await stripDone;
}

function compareHref(st) {
	const now = Date.now(), a = toMs(st.from, now) || now - 86400e3, b = toMs(st.to, now) || now;
	const w = b - a;
	return hashOf(['compare'], { q: st.q, from: String(a - w), to: String(a), from_b: String(a), to_b: String(b), type: st.type });
}

export function emptyState(st) {
	if (!st.q && !st.offset)
		return h('div', { class: 'k-empty' },
			h('h2', null, 'No profiles yet'),
			h('p', null, 'Run your program under kiln: ', h('code', null, 'kiln run -- ./your-app'),
				' (it uploads here), or point a Datadog tracer at this server: ',
				h('code', null, `DD_TRACE_AGENT_URL=http://${location.host}`),
				' with ', h('code', null, 'DD_PROFILING_ENABLED=true'), '.'),
			h('p', { class: 'k-muted' }, 'Profiles appear here about a minute after they are taken. ' +
				'If you expected some, widen the time range.'));
	return h('div', { class: 'k-empty' }, h('h2', null, 'No profiles match'),
		h('p', null, 'Nothing matches ', h('code', null, st.q || '(everything)'),
			' in this time range. Widen the range or remove a filter.'));
}

async function renderStrip(strip, common, group) {
	const now = Date.now();
	const from = toMs(common.from, now) || now - 86400e3, to = toMs(common.to, now) || now;
	const step = stepFor(from, to);
	await Promise.all(MEASURES.slice(0, 3).map(async ([key, label]) => {
		const slot = h('div', { class: 'k-strip-cell', dataset: { measure: key } });
		strip.appendChild(slot);
		try {
			const r = await api('timeseries', { ...common, measure: key, step, group_by: group });
			slot.appendChild(lineChart({ title: label, series: r.series, from, to, format: (v) => fmtMeasure(key, v) }));
		} catch (e) {
			slot.appendChild(errorBlock(e));
		}
	}));
}

function renderFacets(side, facets, extra, st, go) {
	clear(side);
	side.appendChild(h('div', { class: 'k-facet-help k-muted' }, 'Click to filter, shift-click to exclude'));
	const terms = splitQuery(st.q);
	const keys = FACETS.concat(extra.map((k) => [k, k]));
	for (const k of Object.keys(facets))
		if (!keys.some((x) => x[0] === k)) keys.push([k, k]);
	for (const [key, label] of keys) {
		const vals = facets[key] || [];
		const list = h('ul', { class: 'k-facet-list' });
		for (const { value, count } of vals) {
			const term = key + ':' + quoteValue(value);
			const on = terms.includes(term), off = terms.includes('-' + term);
			list.appendChild(h('li', {
				class: 'k-facet-val' + (on ? ' k-on' : '') + (off ? ' k-off' : ''),
				title: on ? 'Click to remove the filter' : 'Click: only ' + key + ':' + value + '; shift-click: exclude',
				dataset: { key, value },
				onclick: (ev) => go({ q: toggleTerm(st.q, key, value, ev.shiftKey || off) }),
			}, h('span', { class: 'k-facet-name' }, value === '' ? '(none)' : value),
			h('span', { class: 'k-count' }, String(count))));
		}
		if (!vals.length) list.appendChild(h('li', { class: 'k-muted' }, '—'));
		side.appendChild(h('div', { class: 'k-facet', dataset: { facet: key } }, h('h3', null, label), list));
	}
	const add = h('input', { class: 'k-facet-add', placeholder: 'add a tag facet (team)', 'aria-label': 'Add a tag facet' });
	side.appendChild(h('form', { onsubmit: (ev) => {
		ev.preventDefault();
		const k = add.value.trim();
		if (k && !extra.includes(k)) go({ facets: extra.concat([k]).join(','), q: st.q });
	} }, add));
}

/* The list's columns: [API sort field, header, whether the field sorts as text]. The server
 * sorts by the field (GET /api/v1/search?sort=…&order=…), over every match, not the page. */
const COLS = [
	['service', 'Service', true],
	['host', 'Host', true],
	['runtime', 'Runtime', true],
	['time', 'Time', false],
	['duration', 'Duration', false],
	['cpu_cores', 'CPU', false],
	['alloc_bytes_per_s', 'Alloc rate', false],
	['wall_seconds', 'Wall time', false],
];

/* The order a field gets on its first click: strings A→Z, times and measures largest first. */
function defaultDir(field) {
	const c = COLS.find((x) => x[0] === field);
	return c && c[2] ? 'asc' : 'desc';
}

/* A header in running text: "Wall time" → "wall time", "CPU" stays. */
function lower(label) {
	return label === label.toUpperCase() ? label : label.toLowerCase();
}

function renderList(panel, res, st, go) {
	const rows = res.profiles;
	const sort = res.sort || 'time', dir = res.order || 'desc';
	const col = COLS.find((c) => c[0] === sort);
	const byTime = sort === 'time' && dir === 'desc';
	/* a new order starts at its first page (go() drops the offset) */
	const sortBy = (key) => go({ sort: key, dir: sort === key ? (dir === 'desc' ? 'asc' : 'desc') : defaultDir(key) });
	const thead = h('tr', null, COLS.map(([key, label]) => h('th', {
		class: 'k-sortable' + (sort === key ? ' k-sorted-' + dir : ''),
		dataset: { sort: key },
		tabindex: 0,
		'aria-sort': sort !== key ? 'none' : dir === 'asc' ? 'ascending' : 'descending',
		title: 'Sort every matching profile by ' + lower(label),
		onclick: () => sortBy(key),
		onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); sortBy(key); } },
	}, label)));
	const tbody = h('tbody');
	for (const p of rows) {
		const href = hashOf(['profile', String(p.id)], {});
		const m = p.measures || {};
		tbody.appendChild(h('tr', { class: 'k-row', dataset: { id: p.id }, onclick: (ev) => { if (!ev.target.closest('a')) location.hash = href; } },
			h('td', null, h('a', { href, class: 'k-svc' }, p.service || '(no service)'),
				p.env ? h('span', { class: 'k-pill' }, p.env) : null,
				p.version ? h('span', { class: 'k-pill k-ver' }, p.version) : null),
			h('td', null, p.host || '–'),
			h('td', null, [p.runtime, p.language].filter(Boolean).join(' / ') || '–'),
			h('td', { class: 'k-num' }, fmtTime(p.start_ns / 1e6)),
			h('td', { class: 'k-num' }, fmtDuration((p.end_ns - p.start_ns) / 1e6)),
			h('td', { class: 'k-num' }, fmtMeasure('cpu_cores', m.cpu_cores)),
			h('td', { class: 'k-num' }, fmtMeasure('alloc_bytes_per_s', m.alloc_bytes_per_s)),
			h('td', { class: 'k-num' }, fmtMeasure('wall_seconds', m.wall_seconds))));
	}
	panel.appendChild(h('table', { class: 'k-table k-profiles' }, h('thead', null, thead), tbody));
	const off = res.offset || 0;
	const what = byTime ? '' : `, sorted by ${col ? lower(col[1]) : sort}, ${dir === 'asc' ? 'ascending' : 'descending'}`;
	panel.appendChild(h('div', { class: 'k-pager' },
		h('button', { class: 'k-btn k-prev', disabled: off <= 0, onclick: () => go({ offset: Math.max(off - (+st.limit || PAGE), 0) || null }) }, byTime ? '← Newer' : '← Previous'),
		h('span', { class: 'k-muted' }, `${off + 1}–${off + rows.length} of ${res.total}` + what),
		h('button', { class: 'k-btn k-next', disabled: res.next_cursor == null, onclick: () => go({ offset: res.next_cursor }) }, byTime ? 'Older →' : 'Next →')));
}

/* A select of the profile types present; onPick(type). */
export function typePicker(types, current, onPick) {
	const sel = h('select', { class: 'k-type', 'aria-label': 'Profile type' });
	for (const t of types)
		sel.appendChild(h('option', { value: t.type, selected: t.type === current },
			t.type + (t.profiles != null ? ` (${t.profiles})` : '')));
	sel.addEventListener('change', () => onPick(sel.value));
	return sel;
}

async function renderAggregate(panel, st, common, keep, go) {
	let types, agg;
	const loading = h('p', { class: 'k-loading' }, 'Merging the matching profiles…');
	panel.appendChild(loading);
	try {
		types = (await api('types', common)).types || [];
		agg = await api('aggregate', { ...common, type: st.type });
	} catch (e) {
		clear(panel).appendChild(errorBlock(e));
		return;
	}
	panel.removeChild(loading);
	const type = agg.type || st.type;
	panel.appendChild(h('div', { class: 'k-bar' }, 'Profile type ',
		typePicker(types, type, (t) => go({ view: 'flame', type: t })),
		h('span', { class: 'k-muted k-agg-sum' }, `${agg.profiles} profiles merged, total ` +
			`${window.KilnFlame.formatValue(agg.total, agg.unit || unitOf(type))}` +
			(agg.tree && agg.tree.truncated ? ' (small frames folded into "other")' : ''))));
	const box = h('div', { class: 'k-flame-box' });
	panel.appendChild(box);
	if (!agg.tree || !agg.tree.count) {
		box.appendChild(h('p', { class: 'k-muted' }, 'No samples of this type in the matching profiles.'));
		return;
	}
	window.kilnUI.flame = mountFlame(box, agg.tree, {
		unit: agg.unit || unitOf(type),
		state: st,
		onState: keep,
	});
}
