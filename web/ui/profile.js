/*
 * profile.js: one profile: header with identity and downloads, and tabs Profiles (flame graph
 * and top table per type), Metrics (the service's measures around it), Timeline (per-thread
 * lanes) and Runtime Info (tags, runtime properties, the event as received).
 * URL: #/profile/ID?tab=…&type=…&attachment=…&zoom=…&search=…&fn=…
 */
import {
	h, clear, api, apiUrl, errorBlock, hashOf, replaceHash, fmtTime, fmtDuration, fmtMeasure,
	MEASURES, unitOf,
} from './util.js';
import { lineChart } from './chart.js';
import { mountFlame } from './flame.js';
import { renderTimeline } from './timeline.js';
import { stepFor } from './search.js';

/* This profile (B) against the same service's profiles of the hour before it (A). */
function compareHref(p) {
	const s = Math.floor(p.start_ns / 1e6), e = Math.ceil(p.end_ns / 1e6);
	const q = 'service:' + (/[\s"]/.test(p.service) || !p.service ? JSON.stringify(p.service || '') : p.service);
	return hashOf(['compare'], { q, from: String(s - 3600e3), to: String(s), q_b: 'id:' + p.id, from_b: String(s), to_b: String(e) });
}

const TABS = [['profiles', 'Profiles'], ['metrics', 'Metrics'], ['timeline', 'Timeline'], ['info', 'Runtime Info']];

export async function renderProfile(main, id, params) {
	const st = {
		tab: params.get('tab') || 'profiles',
		type: params.get('type') || '',
		attachment: params.get('attachment') || '',
		zoom: params.get('zoom'), search: params.get('search'), fn: params.get('fn'),
		inverted: params.get('inverted'),
	};
	const page = h('div', { class: 'k-page k-profile' });
	clear(main).appendChild(page);
	let p;
	try {
		p = await api('profiles/' + encodeURIComponent(id));
	} catch (e) {
		page.appendChild(h('p', null, h('a', { href: '#/search' }, '← Search')));
		page.appendChild(errorBlock(e));
		return;
	}
	document.title = `${p.service || 'profile'} · profile ${p.id} · kiln`;
	const go = (patch) => { location.hash = hashOf(['profile', id], { ...st, zoom: null, search: null, fn: null, ...patch }); };
	const keep = (patch) => { Object.assign(st, patch); replaceHash(hashOf(['profile', id], st)); };
	const startMs = p.start_ns / 1e6, endMs = p.end_ns / 1e6;
	const back = hashOf(['search'], { q: 'service:' + (p.service || '""'), from: String(Math.floor(startMs - 3600e3)), to: String(Math.ceil(endMs + 3600e3)) });
	const m = p.measures || {};
	page.appendChild(h('div', { class: 'k-phead' },
		h('a', { href: '#/search', class: 'k-back' }, '← Search'),
		h('h1', { class: 'k-ptitle' }, p.service || '(no service)'),
		h('div', { class: 'k-meta' },
			h('span', null, 'env ', h('b', null, p.env || '–')),
			h('span', null, 'version ', h('b', null, p.version || '–')),
			h('span', null, 'host ', h('b', null, p.host || '–')),
			h('span', null, [p.runtime, p.language].filter(Boolean).join(' / ') || ''),
			h('span', null, fmtTime(startMs) + ' for ' + fmtDuration(endMs - startMs)),
			h('span', null, 'CPU ', h('b', null, fmtMeasure('cpu_cores', m.cpu_cores))),
			h('span', null, 'wall ', h('b', null, fmtMeasure('wall_seconds', m.wall_seconds))),
			h('span', null, 'origin ', (p.origin || '–') + (p.origin_version ? ' ' + p.origin_version : ''))),
		h('div', { class: 'k-downloads' }, 'Download: ',
			h('a', { class: 'k-dl-raw', href: apiUrl(`profiles/${p.id}/download`), download: '' }, 'as uploaded'),
			(p.attachments || []).filter((a) => a.kind === 'pprof').map((a) =>
				h('a', { class: 'k-dl-pprof', href: apiUrl(`profiles/${p.id}/attachments/${encodeURIComponent(a.name)}`), download: '' }, a.name + ' (pprof)')),
			h('a', { href: back }, 'Other profiles of this service'),
			h('a', { class: 'k-cmp-link', href: compareHref(p) }, 'Compare with the hour before'))));
	const tabs = h('div', { class: 'k-tabs', role: 'tablist' });
	for (const [k, label] of TABS)
		tabs.appendChild(h('a', { class: 'k-tab' + (st.tab === k ? ' k-on' : ''), dataset: { tab: k }, href: hashOf(['profile', id], { tab: k === 'profiles' ? null : k, type: st.type, attachment: st.attachment }) }, label));
	page.appendChild(tabs);
	const panel = h('div', { class: 'k-panel' });
	page.appendChild(panel);
	if (st.tab === 'metrics') return renderMetrics(panel, p);
	if (st.tab === 'timeline') return renderTimeline(panel, p);
	if (st.tab === 'info') return renderInfo(panel, p);
	return renderFlameTab(panel, p, st, go, keep);
}

async function renderFlameTab(panel, p, st, go, keep) {
	const types = p.types || [];
	if (!types.length) {
		panel.appendChild(h('div', { class: 'k-empty' }, 'This profile has no pprof samples to draw ' +
			'(its attachments: ' + ((p.attachments || []).map((a) => a.name + ' ' + a.kind).join(', ') || 'none') + ').'));
		return;
	}
	const sel = h('select', { class: 'k-type', 'aria-label': 'Profile type' });
	const multi = new Set(types.map((t) => t.attachment)).size > 1;
	for (const t of types) {
		const label = t.type + (multi ? ' — ' + t.attachment : '');
		sel.appendChild(h('option', { value: t.attachment + '\n' + t.type, selected: t.type === st.type && (!st.attachment || st.attachment === t.attachment) }, label));
	}
	sel.addEventListener('change', () => {
		const [attachment, type] = sel.value.split('\n');
		go({ type, attachment: multi ? attachment : null });
	});
	const bar = h('div', { class: 'k-bar' }, 'Profile type ', sel);
	panel.appendChild(bar);
	const box = h('div', { class: 'k-flame-box' }, h('p', { class: 'k-loading' }, 'Loading the flame graph…'));
	panel.appendChild(box);
	let fg;
	try {
		fg = await api(`profiles/${p.id}/flamegraph`, { type: st.type, attachment: st.attachment });
	} catch (e) {
		clear(box).appendChild(errorBlock(e));
		return;
	}
	clear(box);
	const type = fg.type || st.type;
	if (!st.type) for (const o of sel.options) o.selected = o.value.endsWith('\n' + type);
	const unit = fg.unit || unitOf(type);
	bar.appendChild(h('span', { class: 'k-muted' }, ' total ' + window.KilnFlame.formatValue(fg.total != null ? fg.total : fg.tree.total[0], unit)));
	if (!fg.tree || !fg.tree.count || !fg.tree.total[0]) {
		box.appendChild(h('p', { class: 'k-muted' }, 'No samples of this type in this profile.'));
		return;
	}
	window.kilnUI.flame = mountFlame(box, fg.tree, { unit, state: st, onState: keep });
}

async function renderMetrics(panel, p) {
	const startMs = p.start_ns / 1e6, endMs = p.end_ns / 1e6;
	const from = Math.floor(startMs - 3600e3), to = Math.ceil(endMs + 3600e3);
	const q = 'service:' + (/[\s"]/.test(p.service) || !p.service ? JSON.stringify(p.service || '') : p.service);
	panel.appendChild(h('p', { class: 'k-muted' }, 'Measures of ', h('code', null, q),
		' from one hour before to one hour after this profile (highlighted), one line per host.'));
	const grid = h('div', { class: 'k-metrics' });
	panel.appendChild(grid);
	const step = stepFor(from, to);
	await Promise.all(MEASURES.map(async ([key, label]) => {
		const cell = h('div', { class: 'k-metric', dataset: { measure: key } });
		grid.appendChild(cell);
		try {
			const r = await api('timeseries', { q, from, to, measure: key, step, group_by: 'host' });
			cell.appendChild(lineChart({ title: label, series: r.series, from, to, width: 600, height: 140,
				marker: [startMs, endMs], format: (v) => fmtMeasure(key, v) }));
		} catch (e) {
			cell.appendChild(errorBlock(e));
		}
	}));
}

function kvTable(rows) {
	return h('table', { class: 'k-table k-kv' }, h('tbody', null,
		rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))));
}

/* Flattens nested info objects into dotted keys. */
function flatten(obj, prefix, out) {
	for (const [k, v] of Object.entries(obj || {})) {
		const key = prefix ? prefix + '.' + k : k;
		if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
		else out.push([key, Array.isArray(v) ? JSON.stringify(v) : String(v)]);
	}
	return out;
}

function renderInfo(panel, p) {
	panel.appendChild(h('h2', null, 'Tags'));
	panel.appendChild(kvTable((p.tags || []).map((t) => [t[0], t[1]])));
	panel.appendChild(h('h2', null, 'Runtime information'));
	const info = flatten(p.info, '', []);
	panel.appendChild(info.length ? kvTable(info) : h('p', { class: 'k-muted' }, 'The upload carried no runtime information.'));
	panel.appendChild(h('h2', null, 'Profile'));
	panel.appendChild(kvTable([['id', String(p.id)], ['runtime id', p.runtime_id || '–'],
		['container id', p.container_id || '–'], ['entity id', p.entity_id || '–'],
		['received', fmtTime(p.received_ns / 1e6)], ['size', p.size + ' bytes'],
		['attachments', (p.attachments || []).map((a) => `${a.name} (${a.kind}, ${a.compression || 'plain'}, ${a.size} B)`).join(', ')]]));
	panel.appendChild(h('h2', null, 'Event as received'));
	let ev = p.event || '';
	try { ev = JSON.stringify(JSON.parse(ev), null, 2); } catch (e) { /* shown as is */ }
	panel.appendChild(h('pre', { class: 'k-event' }, ev));
}
