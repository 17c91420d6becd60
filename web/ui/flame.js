/*
 * flame.js: the UI's flame graph panel around the shared KilnFlame component (flamegraph.js):
 * draws a server tree, keeps zoom and search in the URL, and adds what the component lacks: a
 * sandwich view for one function (callers above, callees below) and diff colouring.
 */
import { h, clear, toCompact } from './util.js';

/*
 * mountFlame(box, tree, {unit, state, onState, frameColor, colors, value, table}): draws tree
 * (server format) into box. state: {zoom: node index, search: text, inverted: bool, fn:
 * selected function} from the URL; onState(patch) is called when the user changes any of
 * them. frameColor(frame) → CSS colour colours each frame by itself (frame.index is the
 * server tree's node index: diff mode colours each call path by its own change);
 * colors(name, id) → CSS colour overrides the palette per function name; value(i) sets node
 * widths; table: false hides the component's top table. Returns {flame, destroy()}.
 */
export function mountFlame(box, tree, opts) {
	const o = opts || {};
	const st = o.state || {};
	clear(box);
	const wrap = h('div', { class: 'k-flame' });
	const sandwich = h('div', { class: 'k-sandwich', hidden: true });
	box.appendChild(wrap);
	box.appendChild(sandwich);
	const data = toCompact(tree, o.value);
	const emit = (patch) => { if (o.onState) o.onState(patch); };
	const flame = window.KilnFlame.create(wrap, data, {
		unit: o.unit,
		table: o.table,
		inverted: !!st.inverted,
		frameColor: o.frameColor,
		onZoom: (i) => emit({ zoom: i || null }),
		onSearch: (text) => emit({ search: text || null }),
		onSelect: (name) => { emit({ fn: name || null }); showSandwich(name); },
	});
	if (o.colors) {
		flame.model.names.forEach((nm, id) => {
			const c = o.colors(nm, id);
			if (c) flame.colors[id] = c;
		});
		flame.redraw();
	}
	/* the flame/icicle button has no hook: watch it */
	if (flame.modeBtn)
		flame.modeBtn.addEventListener('click', () => emit({ inverted: flame.inverted ? 1 : null }));
	let sub = [];
	function showSandwich(name) {
		sub.forEach((f) => f.destroy());
		sub = [];
		clear(sandwich);
		sandwich.hidden = !name;
		if (!name) return;
		const t = sandwichTrees(flame.model, name);
		const close = h('button', { class: 'k-btn', onclick: () => flame.select(null) }, 'Close');
		sandwich.appendChild(h('div', { class: 'k-sandwich-head' },
			h('strong', null, 'Sandwich: '), h('span', { class: 'k-fn' }, name),
			h('span', { class: 'k-muted' }, ' — callers above, callees below '), close));
		const up = h('div', { class: 'k-sandwich-callers' });
		const down = h('div', { class: 'k-sandwich-callees' });
		sandwich.appendChild(h('div', { class: 'k-label' }, 'Callers'));
		sandwich.appendChild(up);
		sandwich.appendChild(h('div', { class: 'k-label' }, 'Callees'));
		sandwich.appendChild(down);
		sub.push(window.KilnFlame.create(up, t.callers, { unit: o.unit, table: false }));
		sub.push(window.KilnFlame.create(down, t.callees, { unit: o.unit, table: false, inverted: true }));
	}
	if (st.zoom > 0 && st.zoom < flame.model.n) flame.zoom(+st.zoom);
	if (st.search) {
		flame.searchBox.value = st.search;
		flame.search(st.search);
	}
	if (st.fn) {
		flame.select(st.fn);
	}
	return {
		flame,
		sandwich: () => sub,
		destroy() {
			sub.forEach((f) => f.destroy());
			flame.destroy();
		},
	};
}

/* Callers and callees of function `name` as {name, value, children} trees rooted at it, from
 * the component's model. Only the outermost frame of a recursive chain counts. */
export function sandwichTrees(m, name) {
	const id = m.names.indexOf(name);
	const callers = { name, value: 0, children: [] };
	const callees = { name, value: 0, children: [] };
	const child = (node, nm) => {
		if (!node.map) node.map = new Map();
		let c = node.map.get(nm);
		if (!c) {
			c = { name: nm, value: 0, children: [] };
			node.map.set(nm, c);
			node.children.push(c);
		}
		return c;
	};
	for (let i = 1; i < m.n; i++) {
		if (m.name[i] !== id) continue;
		let outer = false;
		for (let p = m.parent[i]; p > 0; p = m.parent[p]) if (m.name[p] === id) outer = true;
		if (outer) continue;
		const v = m.total[i];
		callers.value += v;
		callees.value += v;
		let node = callers;
		for (let p = m.parent[i]; p > 0; p = m.parent[p]) {
			node = child(node, m.names[m.name[p]]);
			node.value += v;
		}
		/* the subtree of i, merged by path */
		const path = [callees];
		for (let j = i + 1; j < m.end[i]; j++) {
			const d = m.depth[j] - m.depth[i];
			path.length = d;
			const c = child(path[d - 1], m.names[m.name[j]]);
			c.value += m.total[j];
			path.push(c);
		}
	}
	const sort = (t) => {
		delete t.map;
		t.children.sort((a, b) => b.value - a.value);
		t.children.forEach(sort);
	};
	sort(callers);
	sort(callees);
	return { callers, callees };
}
