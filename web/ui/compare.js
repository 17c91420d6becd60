/*
 * compare.js: the Compare page: two selections (two time ranges of one query, or two queries)
 * of one profile type merged by the server into one tree; the flame graph is coloured by
 * change (more, less, only in A, only in B) and a table lists the largest per-function changes.
 * URL: #/compare?q=…&from=…&to=…&q_b=…&from_b=…&to_b=…&type=…
 */
import { h, clear, api, errorBlock, hashOf, replaceHash, pct, toMs, fmtTime } from './util.js';
import { mountFlame } from './flame.js';
import { typePicker } from './search.js';

export const DIFF_COLORS = {
	onlyA: '#6f9fd8', onlyB: '#b0186a', same: '#d9d6d0',
};

/* The colour of a change of share d (B − A, -1…1). */
export function diffColor(a, b) {
	if (a > 0 && !b) return DIFF_COLORS.onlyA;
	if (b > 0 && !a) return DIFF_COLORS.onlyB;
	const d = b - a;
	if (Math.abs(d) < 0.002) return DIFF_COLORS.same;
	const k = Math.min(Math.abs(d) / 0.2, 1);
	const light = Math.round(85 - 40 * k);
	return d > 0 ? `hsl(4,75%,${light}%)` : `hsl(140,50%,${light}%)`;
}

export async function renderCompare(main, params) {
	const st = {};
	for (const k of ['q', 'from', 'to', 'q_b', 'from_b', 'to_b', 'type', 'zoom', 'search', 'fn', 'inverted'])
		st[k] = params.get(k) || '';
	if (!st.from && !st.to && !st.from_b && !st.to_b) {
		st.from = 'now-2h'; st.to = 'now-1h'; st.from_b = 'now-1h'; st.to_b = 'now';
	}
	const keep = (patch) => { Object.assign(st, patch); replaceHash(hashOf(['compare'], st)); };
	const go = (patch) => { location.hash = hashOf(['compare'], { ...st, zoom: null, search: null, fn: null, ...patch }); };
	const inp = (k, ph, label) => h('input', { class: 'k-in k-' + k.replace('_', '-'), value: st[k], placeholder: ph, 'aria-label': label, dataset: { k } });
	const sideA = [inp('q', 'query (empty = all)', 'Query A'), inp('from', 'now-2h', 'From A'), inp('to', 'now-1h', 'To A')];
	const sideB = [inp('q_b', 'same query as A', 'Query B'), inp('from_b', 'now-1h', 'From B'), inp('to_b', 'now', 'To B')];
	const form = h('form', { class: 'k-cmp-form', onsubmit: (ev) => {
		ev.preventDefault();
		const patch = {};
		for (const i of sideA.concat(sideB)) patch[i.dataset.k] = i.value.trim();
		go(patch);
	} },
	h('div', { class: 'k-cmp-side' }, h('span', { class: 'k-badge k-a' }, 'A'), sideA),
	h('div', { class: 'k-cmp-side' }, h('span', { class: 'k-badge k-b' }, 'B'), sideB),
	h('button', { class: 'k-btn k-primary', type: 'submit' }, 'Compare'),
	h('span', { class: 'k-muted' }, 'Times: now-1h, epoch ms or 2026-11-24T22:00:00Z. Leave query B empty to compare two ranges of query A.'));
	const page = h('div', { class: 'k-page k-compare' }, h('h1', null, 'Compare'), form);
	const out = h('div', { class: 'k-cmp-out' });
	page.appendChild(out);
	clear(main).appendChild(page);
	const now = Date.now();
	const describe = (q, f, t) => `${q || 'all profiles'}, ${fmtTime(toMs(f, now)) || 'start'} → ${fmtTime(toMs(t, now)) || 'now'}`;
	let types, r;
	const loading = h('p', { class: 'k-loading' }, 'Merging both sides…');
	out.appendChild(loading);
	try {
		types = (await api('types', { q: st.q, from: st.from_b || st.from, to: st.to_b || st.to })).types || [];
		r = await api('compare', { q: st.q, from: st.from, to: st.to, q_b: st.q_b, from_b: st.from_b, to_b: st.to_b, type: st.type, limit: 50 });
	} catch (e) {
		clear(out).appendChild(errorBlock(e));
		return;
	}
	out.removeChild(loading);
	const type = r.type || st.type;
	out.appendChild(h('div', { class: 'k-bar' }, 'Profile type ', typePicker(types, type, (t) => go({ type: t }))));
	out.appendChild(h('div', { class: 'k-cmp-sum' },
		h('div', null, h('span', { class: 'k-badge k-a' }, 'A'), ` ${describe(st.q, st.from, st.to)}: ${r.profiles} profiles, total ${window.KilnFlame.formatValue(r.total, r.unit)}`),
		h('div', null, h('span', { class: 'k-badge k-b' }, 'B'), ` ${describe(st.q_b || st.q, st.from_b, st.to_b)}: ${r.profiles_b} profiles, total ${window.KilnFlame.formatValue(r.total_b, r.unit)}`)));
	if (!r.profiles && !r.profiles_b) {
		out.appendChild(h('div', { class: 'k-empty' }, 'Neither side has profiles of this type: widen the ranges or change the queries.'));
		return;
	}
	out.appendChild(legend());
	const tree = r.tree;
	const ta = r.total || 0, tb = r.total_b || 0;
	const grid = h('div', { class: 'k-cmp-grid' });
	const box = h('div', { class: 'k-flame-box' });
	const table = h('div', { class: 'k-cmp-table' });
	grid.appendChild(box);
	grid.appendChild(table);
	out.appendChild(grid);
	const ui = mountFlame(box, tree, {
		unit: '',
		table: false,
		value: (i) => 50 * ((ta ? tree.total[i] / ta : 0) + (tb ? tree.total_b[i] / tb : 0)),
		state: st,
		onState: keep,
		/* each frame by its own change: a function that grows under one caller and shrinks
		 * under another is red in one place and green in the other */
		frameColor: (f) => (f.index === 0 ? '#cfcac2' :
			diffColor(ta ? tree.total[f.index] / ta : 0, tb ? tree.total_b[f.index] / tb : 0)),
	});
	/* the component's tooltip shows the mixed widths: say what each side had */
	const hover = h('div', { class: 'k-cmp-hover k-muted' }, 'Hover a frame to see its values in A and B.');
	box.insertBefore(hover, box.firstChild);
	const fv = (v) => window.KilnFlame.formatValue(v, r.unit);
	ui.flame.canvas.addEventListener('mousemove', (ev) => {
		const i = ui.flame.nodeAt(ev);
		if (i < 0 || i >= tree.count) return;
		const a = tree.total[i], b = tree.total_b[i];
		hover.textContent = `${i ? tree.names[tree.name[i]] : 'all'} — A: ${fv(a)} (${pct(ta ? a / ta : 0)}), ` +
			`B: ${fv(b)} (${pct(tb ? b / tb : 0)})`;
	});
	window.kilnUI.flame = ui;
	window.kilnUI.compare = r;
	const rows = (r.functions || []).slice(0, 50).map((f) => {
		const d = f.self_share_diff != null ? f.self_share_diff : f.self_share_b - f.self_share;
		const kind = !f.self_b && !f.total_b ? 'only in A' : !f.self && !f.total ? 'only in B' : d > 0 ? 'more' : d < 0 ? 'less' : 'same';
		const sw = h('span', { class: 'k-swatch' });
		sw.style.background = diffColor(f.total_share, f.total_share_b);
		return h('tr', { class: 'k-row', dataset: { name: f.name }, onclick: () => ui.flame.select(f.name) },
			h('td', { class: 'k-fn', title: f.file || '' }, sw, f.name),
			h('td', { class: 'k-num' }, pct(f.self_share)),
			h('td', { class: 'k-num' }, pct(f.self_share_b)),
			h('td', { class: 'k-num ' + (d > 0 ? 'k-up' : d < 0 ? 'k-down' : '') }, (d > 0 ? '+' : '') + pct(d)),
			h('td', { class: 'k-kind' }, kind));
	});
	table.appendChild(h('h3', null, 'Largest changes (self share)'));
	table.appendChild(h('table', { class: 'k-table k-changes' },
		h('thead', null, h('tr', null, h('th', null, 'Function'), h('th', null, 'A'), h('th', null, 'B'), h('th', null, 'B − A'), h('th', null, ''))),
		h('tbody', null, rows)));
}

function legend() {
	const item = (c, label) => {
		const sw = h('span', { class: 'k-swatch' });
		sw.style.background = c;
		return h('span', { class: 'k-legend-item' }, sw, label);
	};
	return h('div', { class: 'k-legend' }, item(diffColor(0.1, 0.3), 'more in B'),
		item(diffColor(0.3, 0.1), 'less in B'), item(DIFF_COLORS.onlyA, 'only in A'),
		item(DIFF_COLORS.onlyB, 'only in B'), item(DIFF_COLORS.same, 'unchanged'),
		h('span', { class: 'k-muted' }, ' Colour: change of the frame\'s share (this call path, so one function may differ per caller); width: mean of the two sides\' shares (%).'));
}
