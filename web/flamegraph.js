/*
 * flamegraph.js: kiln's interactive flame graph, drawn on a canvas, with a top table.
 *
 * Shared by `kiln report --html` (inlined into one offline page) and the `kiln serve` web UI
 * (loaded from a script element's src). A plain script, no modules, no dependencies, no network: it
 * defines window.KilnFlame.
 *
 *   var fg = KilnFlame.create(container, data, opts);
 *
 * data is either
 *   - a tree: {name, value, children: [...]} (value = total/inclusive; self is derived), or
 *   - the compact form kiln's C code emits (src/report/html.c, the server's flame graph API):
 *       { "names": ["all", "main", ...],  deduplicated frame names
 *         "name":  [0, 1, ...],            per node, pre-order: index into names
 *         "value": [100, 60, ...],         per node: total (inclusive) value, >= 0
 *         "depth": [0, 1, ...],            per node: depth, the root (node 0) is 0
 *         "scale": 1000 }                  optional: multiply every value by it
 *     Nodes are in pre-order, so a node's subtree is the run of following nodes deeper than
 *     it; children appear in the order they are drawn (kiln sorts them hottest first).
 *
 * opts: unit ("nanoseconds", "bytes", "count"…: values are formatted for it), inverted
 * (true = icicle, root on top), table (default true: the sortable top table beside the
 * graph), tableRows (rows shown, default 200), minWidth (px below which frames are merged
 * into one grey block, default 0.5), frameColor (below), and hooks called after the user
 * acts: onZoom(node, name), onSearch(text, matchedValue), onSelect(name or null).
 *
 * frameColor(frame) colours each frame by itself rather than by its function's name: it
 * gets {index, name, nameId, depth, parent, total, self, path} for one node (index: its
 * pre-order position, which identifies the call path; path: the frame names from the root's
 * child down to this frame) and returns a CSS colour, or null for the default palette. The
 * same function under two callers is two frames and may get two colours (a comparison
 * colours each frame by its own change). It is called once per node, when the node is first
 * drawn, and the answer is kept; setFrameColor(fn) replaces it and redraws.
 *
 * The returned object: zoom(i), reset(), search(text) (substring, case-insensitive, or a
 * regular expression written /re/flags), select(name) (highlight one function, null clears),
 * sortBy('self' | 'total' | 'name'), setInverted(b), setFrameColor(fn), redraw(), destroy();
 * for tests and embedding pages: find(name) (its widest node), findPath(names) (the node of
 * one call path), frameColor(i) (the colour node i is drawn in when not highlighted),
 * frameRect(i) (where node i is drawn), path(i), stats(), model (the typed arrays) and
 * lastDrawMs. Node indices are pre-order positions.
 * KilnFlame.formatValue(v, unit) formats a value the way the graph does.
 *
 * Everything from profiles is drawn with fillText or set with textContent, never parsed as
 * HTML.
 */
(function (global) {
	'use strict';

	var ROW = 18; /* px per frame row */
	var FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

	/* ---- value formatting ---------------------------------------------------------- */

	function fixed(v) {
		var a = Math.abs(v);
		if (a >= 100) return v.toFixed(0);
		if (a >= 10) return v.toFixed(1);
		return v.toFixed(2);
	}

	function scaled(v, steps) {
		var i = 0;
		while (i + 1 < steps.length && Math.abs(v) >= steps[i + 1][0]) i++;
		if (i === 0 && v === Math.floor(v)) return v + ' ' + steps[0][1];
		return fixed(v / steps[i][0]) + ' ' + steps[i][1];
	}

	var TIME = [[1, 'ns'], [1e3, 'µs'], [1e6, 'ms'], [1e9, 's'], [60e9, 'min'], [3600e9, 'h']];
	var BYTES = [[1, 'B'], [1024, 'KiB'], [1048576, 'MiB'], [1073741824, 'GiB'],
		[1099511627776, 'TiB']];
	var COUNT = [[1, ''], [1e3, 'k'], [1e6, 'M'], [1e9, 'G'], [1e12, 'T']];

	function formatValue(v, unit) {
		var u = (unit || '').toLowerCase();
		if (u === 'nanoseconds' || u === 'nanosecond' || u === 'ns')
			return scaled(v, TIME);
		if (u === 'microseconds' || u === 'us')
			return scaled(v * 1e3, TIME);
		if (u === 'milliseconds' || u === 'ms')
			return scaled(v * 1e6, TIME);
		if (u === 'seconds' || u === 's')
			return scaled(v * 1e9, TIME);
		if (u === 'bytes' || u === 'byte')
			return v < 1024 ? v + ' B' : scaled(v, BYTES);
		if (Math.abs(v) < 1e4 && v === Math.floor(v))
			return String(v);
		var s = scaled(v, COUNT).replace(/ $/, '');
		return u && u !== 'count' ? s + ' ' + unit : s;
	}

	function pct(part, whole) {
		var p = whole > 0 ? (100 * part) / whole : 0;
		if (p === 0) return '0 %';
		return (p >= 10 ? p.toFixed(1) : p.toFixed(2)) + ' %';
	}

	/* ---- data model: typed arrays in pre-order -------------------------------------- */

	/* Flattens a {name, value, children} tree into the compact form, iteratively. */
	function fromTree(tree) {
		var names = [], ids = new Map(), name = [], value = [], depth = [];
		var stack = [[tree, 0]];
		while (stack.length) {
			var top = stack.pop(), t = top[0], nm = String(t.name == null ? '' : t.name);
			var id = ids.get(nm);
			if (id === undefined) {
				id = names.length;
				names.push(nm);
				ids.set(nm, id);
			}
			name.push(id);
			value.push(+t.value || 0);
			depth.push(top[1]);
			var ch = t.children || [];
			for (var i = ch.length - 1; i >= 0; i--) stack.push([ch[i], top[1] + 1]);
		}
		return {names: names, name: name, value: value, depth: depth};
	}

	function Model(data) {
		var c = data && data.names ? data : fromTree(data || {name: 'all', value: 0});
		var n = c.name.length;
		if (!n || c.value.length !== n || c.depth.length !== n)
			throw new Error('flamegraph: malformed data');
		var name = Int32Array.from(c.name), total = Float64Array.from(c.value);
		var depth = Int32Array.from(c.depth), self = new Float64Array(n);
		var end = new Int32Array(n); /* one past the last node of i's subtree */
		var parent = new Int32Array(n);
		var start = new Float64Array(n); /* offset of i's left edge from the root's */
		var nnames = c.names.length, maxDepth = 0, i, s;
		if (c.scale > 1)
			for (s = 0; s < n; s++) total[s] *= c.scale;
		/* open nodes, root first: stack[k] is the open node at depth k */
		var stack = new Int32Array(n + 1), sp = 0, next = new Float64Array(n);
		for (i = 0; i < n; i++) {
			var d = depth[i];
			if (d > maxDepth) maxDepth = d;
			if (!(name[i] >= 0 && name[i] < nnames))
				throw new Error('flamegraph: bad name index');
			if (d > sp || (i > 0 && d === 0))
				throw new Error('flamegraph: bad depth at node ' + i);
			while (sp > d) end[stack[--sp]] = i;
			var p = d ? stack[d - 1] : -1;
			parent[i] = p;
			self[i] = total[i];
			if (p >= 0) {
				self[p] -= total[i];
				start[i] = next[p];
				next[p] += total[i];
			}
			next[i] = start[i];
			stack[sp++] = i;
		}
		while (sp) end[stack[--sp]] = n;
		for (i = 0; i < n; i++) if (self[i] < 0) self[i] = 0;
		this.names = c.names;
		this.n = n;
		this.name = name;
		this.total = total;
		this.depth = depth;
		this.self = self;
		this.end = end;
		this.parent = parent;
		this.start = start;
		this.maxDepth = maxDepth;
		this.computeFunctions();
	}

	/* Per function name: self summed over its nodes, total counted once per stack (a
	 * recursive function is not counted twice). */
	Model.prototype.computeFunctions = function () {
		var k = this.names.length, n = this.n, name = this.name, end = this.end;
		var self = this.self, total = this.total;
		var fself = new Float64Array(k), ftotal = new Float64Array(k), open = new Int32Array(k);
		var seen = new Uint8Array(k), stack = new Int32Array(this.maxDepth + 2), sp = 0;
		for (var i = 0; i < n; i++) {
			while (sp && end[stack[sp - 1]] <= i) open[name[stack[--sp]]]--;
			var id = name[i];
			if (i > 0) { /* the root is not a function */
				seen[id] = 1;
				fself[id] += self[i];
				if (!open[id]) ftotal[id] += total[i];
			}
			open[id]++;
			stack[sp++] = i;
		}
		var funcs = [];
		for (i = 0; i < k; i++) if (seen[i]) funcs.push(i);
		this.funcs = funcs;
		this.fself = fself;
		this.ftotal = ftotal;
	};

	/* ---- colours ---------------------------------------------------------------------- */

	function hashStr(s) {
		var h = 2166136261;
		for (var i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
		return h >>> 0;
	}

	function warm(s) {
		var h = hashStr(s);
		var r = 205 + (h % 50), g = 80 + ((h >>> 8) % 140), b = 40 + ((h >>> 16) % 45);
		return 'rgb(' + r + ',' + g + ',' + b + ')';
	}

	/* ---- DOM helpers (text only) ------------------------------------------------------- */

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text != null) e.textContent = text;
		return e;
	}

	function parseQuery(q) {
		var m = /^\/(.*)\/([a-z]*)$/.exec(q);
		if (m) {
			try {
				var re = new RegExp(m[1], m[2].replace(/[gy]/g, ''));
				return function (s) { return re.test(s); };
			} catch (e) {
				return null; /* invalid: no matcher, the box says so */
			}
		}
		var lq = q.toLowerCase();
		return function (s) { return s.toLowerCase().indexOf(lq) >= 0; };
	}

	/* ---- the component ---------------------------------------------------------------- */

	function Flame(container, data, opts) {
		this.opts = opts || {};
		this.unit = this.opts.unit || (data && data.unit) || '';
		this.inverted = !!this.opts.inverted;
		this.minWidth = this.opts.minWidth != null ? this.opts.minWidth : 0.5;
		this.model = new Model(data);
		this.colors = new Array(this.model.names.length); /* per name id, filled when drawn */
		this.frameColorFn = typeof this.opts.frameColor === 'function' ? this.opts.frameColor : null;
		this.nodeColors = this.frameColorFn ? new Array(this.model.n) : null; /* per node */
		this.nodeCount = this.model.n;
		this.zoomNode = 0;
		this.matchNames = null; /* Uint8Array over names, or null */
		this.matchValue = 0;
		this.selected = -1; /* name id selected in the table */
		this.query = '';
		this.sortKey = 'self';
		this.sortDesc = true;
		this.hover = -1;
		this.lastDrawMs = 0;
		this.container = container;
		this.build();
		this.fillTable();
		this.redraw();
	}

	Flame.prototype.build = function () {
		var self = this;
		var root = el('div', 'kf-root');
		var bar = el('div', 'kf-toolbar');
		this.searchBox = el('input', 'kf-search');
		this.searchBox.type = 'search';
		this.searchBox.placeholder = 'Search: text or /regex/';
		this.searchBox.setAttribute('aria-label', 'Search functions');
		this.matchLabel = el('span', 'kf-matched', '');
		this.resetBtn = el('button', 'kf-reset', 'Reset zoom');
		this.modeBtn = el('button', 'kf-mode', '');
		bar.appendChild(this.searchBox);
		bar.appendChild(this.matchLabel);
		bar.appendChild(this.resetBtn);
		bar.appendChild(this.modeBtn);
		this.crumbs = el('div', 'kf-crumbs');
		var main = el('div', 'kf-main');
		this.graph = el('div', 'kf-graph');
		this.canvas = el('canvas', 'kf-canvas');
		this.graph.appendChild(this.canvas);
		this.tip = el('div', 'kf-tip');
		this.tip.hidden = true;
		main.appendChild(this.graph);
		if (this.opts.table !== false) {
			this.tableWrap = el('div', 'kf-table-wrap');
			this.table = el('table', 'kf-table');
			var thead = el('thead'), tr = el('tr');
			this.heads = {};
			[['self', 'Self'], ['total', 'Total'], ['name', 'Function']].forEach(function (h) {
				var th = el('th', 'kf-col-' + h[0], h[1]);
				th.dataset.key = h[0];
				th.title = 'Sort by ' + h[1].toLowerCase();
				th.addEventListener('click', function () { self.sortBy(h[0]); });
				self.heads[h[0]] = th;
				tr.appendChild(th);
			});
			thead.appendChild(tr);
			this.table.appendChild(thead);
			this.tbody = el('tbody');
			this.table.appendChild(this.tbody);
			this.tableNote = el('div', 'kf-table-note', '');
			this.tableWrap.appendChild(this.table);
			this.tableWrap.appendChild(this.tableNote);
			main.appendChild(this.tableWrap);
			this.tbody.addEventListener('click', function (ev) {
				var row = ev.target.closest('tr');
				if (!row) return;
				var id = +row.dataset.id;
				self.select(self.selected === id ? null : self.model.names[id]);
			});
		}
		root.appendChild(bar);
		root.appendChild(this.crumbs);
		root.appendChild(main);
		root.appendChild(this.tip);
		this.root = root;
		this.container.appendChild(root);

		this.searchBox.addEventListener('input', function () { self.search(self.searchBox.value); });
		this.resetBtn.addEventListener('click', function () { self.reset(); });
		this.modeBtn.addEventListener('click', function () { self.setInverted(!self.inverted); });
		this.canvas.addEventListener('mousemove', function (ev) { self.onMove(ev); });
		this.canvas.addEventListener('mouseleave', function () { self.setHover(-1); });
		this.canvas.addEventListener('click', function (ev) {
			var i = self.nodeAt(ev);
			if (i >= 0) self.zoom(self.isNarrow(i) ? self.model.parent[i] : i);
		});
		this.onKey = function (ev) {
			if (ev.key === 'Escape' && document.activeElement !== self.searchBox) self.reset();
		};
		document.addEventListener('keydown', this.onKey);
		/* the width is cached: reading layout in redraw() would force a reflow of the
		 * whole page (the table) on every interaction */
		this.graphWidth = this.graph.clientWidth;
		if (global.ResizeObserver) {
			this.ro = new ResizeObserver(function (entries) {
				var w = Math.floor(entries[entries.length - 1].contentRect.width);
				if (w !== self.graphWidth) {
					self.graphWidth = w;
					self.redraw();
				}
			});
			this.ro.observe(this.graph);
		}
	};

	Flame.prototype.destroy = function () {
		if (this.ro) this.ro.disconnect();
		document.removeEventListener('keydown', this.onKey);
		if (this.root.parentNode) this.root.parentNode.removeChild(this.root);
	};

	/* ---- state changes ---------------------------------------------------------------- */

	Flame.prototype.zoom = function (i) {
		var m = this.model;
		if (i < 0 || i >= m.n) return;
		this.zoomNode = i;
		this.setHover(-1);
		this.redraw();
		this.emit('onZoom', i, m.names[m.name[i]]);
	};

	Flame.prototype.reset = function () {
		this.zoom(0);
	};

	Flame.prototype.setInverted = function (b) {
		this.inverted = !!b;
		this.redraw();
	};

	/* Marks names matching the search text or the selected function, and sums the value
	 * of matching frames, each stack counted once (outermost match). */
	Flame.prototype.updateMatches = function () {
		var m = this.model, names = m.names, k = names.length;
		var fn = null;
		this.badQuery = false;
		if (this.selected >= 0) {
			var sel = this.selected;
			fn = function (s, id) { return id === sel; };
		} else if (this.query) {
			var f = parseQuery(this.query);
			if (!f) this.badQuery = true;
			else fn = function (s) { return f(s); };
		}
		if (!fn) {
			this.matchNames = null;
			this.matchValue = 0;
			return;
		}
		var mn = new Uint8Array(k);
		for (var id = 0; id < k; id++) if (fn(names[id], id)) mn[id] = 1;
		var sum = 0;
		for (var i = 1; i < m.n;) {
			if (mn[m.name[i]]) {
				sum += m.total[i];
				i = m.end[i];
			} else {
				i++;
			}
		}
		this.matchNames = mn;
		this.matchValue = sum;
	};

	Flame.prototype.search = function (text) {
		this.query = String(text || '');
		if (this.searchBox.value !== this.query) this.searchBox.value = this.query;
		this.selected = -1;
		this.updateMatches();
		this.fillTable();
		this.redraw();
		this.emit('onSearch', this.query, this.matchValue);
	};

	Flame.prototype.select = function (name) {
		var id = name == null ? -1 : this.model.names.indexOf(name);
		this.selected = id;
		this.updateMatches();
		this.markSelectedRow();
		this.redraw();
		this.emit('onSelect', id < 0 ? null : this.model.names[id]);
	};

	/* Calls opts[hook] if the embedding page gave one (the server UI keeps its URL in sync). */
	Flame.prototype.emit = function (hook, a, b) {
		if (typeof this.opts[hook] === 'function') this.opts[hook](a, b);
	};

	Flame.prototype.sortBy = function (key) {
		if (this.sortKey === key) this.sortDesc = !this.sortDesc;
		else {
			this.sortKey = key;
			this.sortDesc = key !== 'name';
		}
		this.fillTable();
	};

	/* ---- the table ---------------------------------------------------------------------- */

	/* All functions in the current order; each order is sorted once, searches filter it. */
	Flame.prototype.sortedFuncs = function () {
		var m = this.model, key = this.sortKey, desc = this.sortDesc, names = m.names;
		var ck = key + (desc ? '-' : '+');
		this.sortCache = this.sortCache || {};
		if (this.sortCache[ck]) return this.sortCache[ck];
		var fs = m.fself, ft = m.ftotal, cmp;
		if (key === 'name')
			cmp = function (a, b) { return names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0; };
		else if (key === 'total')
			cmp = function (a, b) { return ft[a] - ft[b] || fs[a] - fs[b]; };
		else
			cmp = function (a, b) { return fs[a] - fs[b] || ft[a] - ft[b]; };
		var list = m.funcs.slice();
		list.sort(desc ? function (a, b) { return cmp(b, a); } : cmp);
		return (this.sortCache[ck] = list);
	};

	Flame.prototype.fillTable = function () {
		if (!this.tbody) return;
		var m = this.model, key = this.sortKey, desc = this.sortDesc, names = m.names;
		var fs = m.fself, ft = m.ftotal;
		var list = this.sortedFuncs();
		if (this.query && this.matchNames) {
			var mn = this.matchNames;
			list = list.filter(function (id) { return mn[id]; });
		}
		var limit = this.opts.tableRows || 200, total = m.total[0], unit = this.unit;
		var frag = document.createDocumentFragment();
		for (var r = 0; r < list.length && r < limit; r++) {
			var id = list[r], tr = el('tr');
			tr.dataset.id = id;
			tr.appendChild(numCell(fs[id], total, unit));
			tr.appendChild(numCell(ft[id], total, unit));
			var td = el('td', 'kf-name', names[id]);
			td.title = names[id];
			tr.appendChild(td);
			frag.appendChild(tr);
		}
		this.tbody.textContent = '';
		this.tbody.appendChild(frag);
		this.tableNote.textContent = list.length > limit ?
			'showing ' + limit + ' of ' + list.length + ' functions' : list.length + ' functions';
		for (var k in this.heads) {
			var th = this.heads[k];
			th.classList.toggle('kf-sorted', k === key);
			th.setAttribute('aria-sort', k !== key ? 'none' : desc ? 'descending' : 'ascending');
		}
		this.markSelectedRow();
	};

	/* A value cell: the share is its title and a bar behind the number. */
	function numCell(v, total, unit) {
		var td = el('td', 'kf-num', formatValue(v, unit)), share = total > 0 ? (100 * v) / total : 0;
		td.title = pct(v, total);
		if (share > 0) {
			share = Math.min(share, 100).toFixed(1);
			td.style.background = 'linear-gradient(to left, rgba(224, 64, 160, 0.16) ' + share +
				'%, transparent ' + share + '%)';
		}
		return td;
	}

	Flame.prototype.markSelectedRow = function () {
		if (!this.tbody) return;
		var rows = this.tbody.rows;
		for (var i = 0; i < rows.length; i++)
			rows[i].classList.toggle('kf-selected', +rows[i].dataset.id === this.selected);
	};

	/* ---- drawing ------------------------------------------------------------------------ */

	Flame.prototype.rowY = function (depth, rows) {
		return this.inverted ? depth * ROW : (rows - 1 - depth) * ROW;
	};

	Flame.prototype.redraw = function () {
		var t0 = performance.now();
		var m = this.model, z = this.zoomNode, cv = this.canvas;
		var width = Math.max(this.graphWidth, 100);
		var zt = m.total[z], scale = zt > 0 ? width / zt : 0, zs = m.start[z];
		var minW = this.minWidth, i, end, d;
		/* rows: as deep as anything drawn, narrow frames included (their run is drawn at
		 * their own depth, their subtrees not at all) */
		var maxD = m.depth[z];
		for (i = z, end = m.end[z]; i < end;) {
			if (m.depth[i] > maxD) maxD = m.depth[i];
			i = m.total[i] * scale < minW ? m.end[i] : i + 1;
		}
		var rows = maxD + 1;
		var height = rows * ROW;
		var dpr = global.devicePixelRatio || 1;
		/* browsers cap canvas size; very deep stacks draw at lower resolution */
		if (height * dpr > 32000) dpr = Math.max(32000 / height, 0.1);
		cv.width = Math.round(width * dpr);
		cv.height = Math.round(height * dpr);
		cv.style.width = width + 'px';
		cv.style.height = height + 'px';
		var ctx = cv.getContext('2d');
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.clearRect(0, 0, width, height);
		ctx.font = FONT;
		ctx.textBaseline = 'middle';
		if (!this.charW) this.charW = ctx.measureText('MMMMMMMMMM').width / 10 || 7;
		this.width = width;
		this.rows = rows;

		var mn = this.matchNames;
		var drawn = 0;

		/* ancestors of the zoomed frame span the whole width, dimmed */
		for (var a = m.parent[z]; a >= 0; a = m.parent[a]) {
			this.box(ctx, a, 0, width, rows, a ? mn : null, true);
			drawn++;
		}
		/* the zoomed subtree; narrow frames (and their subtrees) merge per row */
		var pendX0 = new Float64Array(rows), pendX1 = new Float64Array(rows).fill(-1);
		var pendM = this.pendM = new Uint8Array(rows); /* the run holds a match */
		for (i = z, end = m.end[z]; i < end;) {
			d = m.depth[i];
			var x = (m.start[i] - zs) * scale, w = m.total[i] * scale;
			if (w < minW) {
				if (pendX1[d] >= 0 && x - pendX1[d] < 0.01) {
					pendX1[d] = x + w;
				} else {
					this.flushNarrow(ctx, pendX0, pendX1, d, rows);
					pendX0[d] = x;
					pendX1[d] = x + w;
				}
				if (mn && mn[m.name[i]]) pendM[d] = 1;
				i = m.end[i];
				continue;
			}
			this.flushNarrow(ctx, pendX0, pendX1, d, rows);
			this.box(ctx, i, x, w, rows, i ? mn : null, false);
			drawn++;
			i++;
		}
		for (d = 0; d < rows; d++) this.flushNarrow(ctx, pendX0, pendX1, d, rows);
		if (!(zt > 0)) {
			ctx.fillStyle = '#777';
			ctx.fillText('No samples in this profile', 4, ROW / 2);
		}
		this.drawnCount = drawn;
		this.updateChrome();
		this.lastDrawMs = performance.now() - t0;
	};

	Flame.prototype.flushNarrow = function (ctx, x0, x1, d, rows) {
		if (x1[d] < 0) return;
		var w = x1[d] - x0[d], matched = this.pendM[d];
		x1[d] = -1;
		this.pendM[d] = 0;
		if (w < 1 && !matched) return;
		ctx.fillStyle = matched ? '#e58fc0' : '#d6d6d6';
		ctx.fillRect(x0[d], this.rowY(d, rows), Math.max(w, 1), ROW - 1);
	};

	/* Draws node i at x, w wide; mn: the names matching a search (highlight), or null. */
	Flame.prototype.box = function (ctx, i, x, w, rows, mn, dim) {
		var m = this.model, nameId = m.name[i], label = m.names[nameId];
		var y = this.rowY(m.depth[i], rows);
		var color;
		if (mn) color = mn[nameId] ? '#e040a0' : '#e4ddd6';
		else color = this.frameColor(i);
		ctx.globalAlpha = dim ? 0.55 : 1;
		ctx.fillStyle = color;
		ctx.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW - 1);
		if (w > 3 * this.charW) {
			var max = Math.floor((w - 6) / this.charW);
			var txt = label.length > max ? label.slice(0, Math.max(max - 1, 1)) + '…' : label;
			ctx.fillStyle = mn && mn[nameId] ? '#fff' : '#222';
			ctx.fillText(txt, x + 3, y + ROW / 2);
		}
		ctx.globalAlpha = 1;
	};

	/* Toolbar text, breadcrumb, match summary. */
	Flame.prototype.updateChrome = function () {
		var m = this.model, self = this;
		this.modeBtn.textContent = this.inverted ? 'Flame graph' : 'Icicle';
		this.modeBtn.title = this.inverted ? 'Draw the root at the bottom' : 'Draw the root at the top';
		this.root.classList.toggle('kf-inverted', this.inverted);
		this.resetBtn.disabled = this.zoomNode === 0;
		if (this.badQuery) {
			this.matchLabel.textContent = 'invalid regular expression';
		} else if (this.matchNames) {
			this.matchLabel.textContent = 'matched: ' + formatValue(this.matchValue, this.unit) +
				' (' + pct(this.matchValue, m.total[0]) + ')';
		} else {
			this.matchLabel.textContent = '';
		}
		var path = [];
		for (var a = this.zoomNode; a >= 0; a = m.parent[a]) path.unshift(a);
		this.crumbs.textContent = '';
		path.forEach(function (i, k) {
			if (k) self.crumbs.appendChild(el('span', 'kf-sep', '›'));
			var c = el('button', 'kf-crumb', m.names[m.name[i]]);
			c.dataset.node = i;
			if (i === self.zoomNode) c.classList.add('kf-current');
			c.addEventListener('click', function () { self.zoom(i); });
			self.crumbs.appendChild(c);
		});
	};

	/* ---- hit testing and tooltip --------------------------------------------------------- */

	Flame.prototype.nodeAt = function (ev) {
		var r = this.canvas.getBoundingClientRect();
		var x = ev.clientX - r.left, y = ev.clientY - r.top;
		return this.nodeAtXY(x, y);
	};

	Flame.prototype.nodeAtXY = function (x, y) {
		var m = this.model, z = this.zoomNode, rows = this.rows;
		var row = Math.floor(y / ROW);
		if (row < 0 || row >= rows || x < 0 || x > this.width) return -1;
		var d = this.inverted ? row : rows - 1 - row;
		var dz = m.depth[z];
		if (d < dz) {
			var a = z;
			while (m.depth[a] > d) a = m.parent[a];
			return a;
		}
		var zt = m.total[z], scale = zt > 0 ? this.width / zt : 0, zs = m.start[z];
		var i = z;
		while (m.depth[i] < d) {
			var found = -1;
			for (var c = i + 1; c < m.end[i]; c = m.end[c]) {
				var cx = (m.start[c] - zs) * scale, cw = m.total[c] * scale;
				if (x >= cx && x < cx + cw) {
					found = c;
					break;
				}
			}
			if (found < 0) return -1;
			i = found;
			/* a narrow frame is drawn merged into its row's grey run; its subtree is not */
			if (m.depth[i] < d && this.isNarrow(i)) return -1;
		}
		return i;
	};

	/* Drawn merged with its narrow siblings rather than as a frame of its own. */
	Flame.prototype.isNarrow = function (i) {
		var m = this.model, zt = m.total[this.zoomNode];
		return i !== this.zoomNode && !(zt > 0 && m.total[i] * this.width / zt >= this.minWidth);
	};

	Flame.prototype.onMove = function (ev) {
		var i = this.nodeAt(ev);
		this.setHover(i);
		if (i < 0) return;
		var tip = this.tip, g = this.root.getBoundingClientRect();
		var x = ev.clientX - g.left + 14, y = ev.clientY - g.top + 14;
		if (x + tip.offsetWidth > g.width) x = Math.max(ev.clientX - g.left - tip.offsetWidth - 8, 0);
		tip.style.left = x + 'px';
		tip.style.top = y + 'px';
	};

	Flame.prototype.setHover = function (i) {
		if (i === this.hover) return;
		this.hover = i;
		var tip = this.tip;
		if (i < 0) {
			tip.hidden = true;
			this.canvas.style.cursor = '';
			return;
		}
		var m = this.model, total = m.total[0], u = this.unit;
		tip.textContent = '';
		if (this.isNarrow(i)) {
			/* the grey run: every narrow child of the same parent */
			var p = m.parent[i], count = 0, sum = 0;
			for (var c = p + 1; c < m.end[p]; c = m.end[c]) {
				if (this.isNarrow(c)) {
					count++;
					sum += m.total[c];
				}
			}
			tip.appendChild(el('div', 'kf-tip-name', count + (count === 1 ? ' frame' : ' frames') +
				' too narrow to draw'));
			tip.appendChild(el('div', 'kf-tip-line',
				'Total: ' + formatValue(sum, u) + ' (' + pct(sum, total) + ')'));
			tip.appendChild(el('div', 'kf-tip-line', 'Click to zoom into ' + m.names[m.name[p]]));
			tip.hidden = false;
			this.canvas.style.cursor = 'zoom-in';
			return;
		}
		tip.appendChild(el('div', 'kf-tip-name', m.names[m.name[i]]));
		tip.appendChild(el('div', 'kf-tip-line',
			'Total: ' + formatValue(m.total[i], u) + ' (' + pct(m.total[i], total) + ')'));
		tip.appendChild(el('div', 'kf-tip-line',
			'Self: ' + formatValue(m.self[i], u) + ' (' + pct(m.self[i], total) + ')'));
		if (this.zoomNode !== 0)
			tip.appendChild(el('div', 'kf-tip-line', 'Of zoomed frame: ' +
				pct(m.total[i], m.total[this.zoomNode])));
		tip.hidden = false;
		this.canvas.style.cursor = 'pointer';
	};

	/* ---- per-frame colours ---------------------------------------------------------------- */

	/* The frame names from the root's child down to node i (the root itself is left out). */
	Flame.prototype.path = function (i) {
		var m = this.model, out = [];
		for (; i > 0; i = m.parent[i]) out.push(m.names[m.name[i]]);
		return out.reverse();
	};

	/* The colour node i is drawn in (without search highlighting). */
	Flame.prototype.frameColor = function (i) {
		var m = this.model;
		if (i < 0 || i >= m.n) return null;
		if (this.frameColorFn) {
			var c = this.nodeColors[i];
			if (c === undefined) {
				var self = this;
				c = this.frameColorFn({
					index: i, nameId: m.name[i], name: m.names[m.name[i]], depth: m.depth[i],
					parent: m.parent[i], total: m.total[i], self: m.self[i],
					get path() { return self.path(i); }
				});
				c = this.nodeColors[i] = c ? String(c) : null;
			}
			if (c) return c;
		}
		var id = m.name[i];
		return this.colors[id] || (this.colors[id] = warm(m.names[id]));
	};

	Flame.prototype.setFrameColor = function (fn) {
		this.frameColorFn = typeof fn === 'function' ? fn : null;
		this.nodeColors = this.frameColorFn ? new Array(this.model.n) : null;
		this.redraw();
	};

	/* The node of the call path names (root's child first), or -1. */
	Flame.prototype.findPath = function (names) {
		var m = this.model, i = 0;
		for (var k = 0; k < names.length; k++) {
			var found = -1;
			for (var c = i + 1; c < m.end[i]; c = m.end[c]) {
				if (m.names[m.name[c]] === names[k]) {
					found = c;
					break;
				}
			}
			if (found < 0) return -1;
			i = found;
		}
		return names.length ? i : -1;
	};

	/* Where node i is drawn, in canvas CSS pixels (for tests and the server UI). */
	Flame.prototype.frameRect = function (i) {
		var m = this.model, z = this.zoomNode;
		if (i < 0 || i >= m.n) return null;
		var zt = m.total[z], scale = zt > 0 ? this.width / zt : 0;
		var inside = i >= z && i < m.end[z];
		var x = inside ? (m.start[i] - m.start[z]) * scale : 0;
		var w = inside ? m.total[i] * scale : this.width;
		if (!inside && !(i < z && m.end[i] >= m.end[z])) return null; /* not drawn */
		return {x: x, y: this.rowY(m.depth[i], this.rows), w: w, h: ROW};
	};

	/* Index of the first node named name whose frame is drawn widest, or -1. */
	Flame.prototype.find = function (name) {
		var m = this.model, id = m.names.indexOf(name), best = -1;
		for (var i = 0; i < m.n; i++)
			if (m.name[i] === id && (best < 0 || m.total[i] > m.total[best])) best = i;
		return best;
	};

	Flame.prototype.stats = function () {
		return {nodes: this.model.n, names: this.model.names.length, drawn: this.drawnCount,
			lastDrawMs: this.lastDrawMs, zoom: this.zoomNode, inverted: this.inverted,
			matchValue: this.matchValue, total: this.model.total[0]};
	};

	global.KilnFlame = {
		create: function (container, data, opts) { return new Flame(container, data, opts); },
		formatValue: formatValue,
		fromTree: fromTree,
		Model: Model, /* the data model alone, for tests and benchmarks */
		version: 1
	};
})(typeof window !== 'undefined' ? window : this);
