/*
 * chart.js: a small SVG line chart for the timeseries endpoint (one line per group), with a
 * hover readout and an optional marker (the open profile's time). Labels are SVG text nodes.
 */
import { h, fmtTime, hashColor } from './util.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
	const e = document.createElementNS(NS, tag);
	for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
	if (text != null) e.textContent = String(text);
	return e;
}

/*
 * lineChart({title, series: [{group, points: [[ms, value, n]]}], from, to, format(v),
 * marker: [ms0, ms1], width, height}) → an element.
 */
export function lineChart(o) {
	const W = o.width || 300, H = o.height || 90, L = 4, R = 4, T = 6, B = 16;
	const box = h('div', { class: 'k-chart' });
	const series = o.series || [];
	let lo = o.from, hi = o.to, vmax = 0;
	for (const se of series)
		for (const p of se.points) {
			if (lo == null || p[0] < lo) lo = p[0];
			if (hi == null || p[0] > hi) hi = p[0];
			if (p[1] > vmax) vmax = p[1];
		}
	const head = h('div', { class: 'k-chart-head' }, h('span', { class: 'k-chart-title' }, o.title || ''));
	const readout = h('span', { class: 'k-chart-val' }, '');
	head.appendChild(readout);
	box.appendChild(head);
	const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, preserveAspectRatio: 'none', class: 'k-chart-svg' });
	box.appendChild(svg);
	if (!series.length || lo == null || !(hi > lo) && !series.some((x) => x.points.length)) {
		box.appendChild(h('div', { class: 'k-muted k-chart-empty' }, 'no data in this range'));
		return box;
	}
	if (!(hi > lo)) { lo -= 60000; hi += 60000; }
	if (!(vmax > 0)) vmax = 1;
	const x = (t) => L + ((t - lo) / (hi - lo)) * (W - L - R);
	const y = (v) => T + (1 - v / vmax) * (H - T - B);
	svg.appendChild(s('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'k-axis' }));
	if (o.marker) {
		const x0 = x(o.marker[0]), x1 = Math.max(x(o.marker[1]), x0 + 2);
		svg.appendChild(s('rect', { x: x0, y: T, width: x1 - x0, height: H - T - B, class: 'k-marker' }));
	}
	for (const se of series) {
		const color = series.length > 1 ? hashColor(se.group) : '#6a3fb5';
		const pts = se.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
		svg.appendChild(s('polyline', { points: pts, fill: 'none', stroke: color, 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke' }));
		for (const p of se.points)
			if (se.points.length < 60)
				svg.appendChild(s('circle', { cx: x(p[0]), cy: y(p[1]), r: 2, fill: color }));
	}
	svg.appendChild(s('text', { x: L, y: H - 3, class: 'k-tick' }, fmtTime(lo)));
	svg.appendChild(s('text', { x: W - R, y: H - 3, class: 'k-tick', 'text-anchor': 'end' }, fmtTime(hi)));
	svg.appendChild(s('text', { x: L + 2, y: T + 9, class: 'k-tick' }, (o.format || String)(vmax)));
	svg.addEventListener('mousemove', (ev) => {
		const r = svg.getBoundingClientRect();
		const t = lo + ((ev.clientX - r.left) / r.width) * (hi - lo);
		let best = null;
		for (const se of series)
			for (const p of se.points)
				if (!best || Math.abs(p[0] - t) < Math.abs(best.p[0] - t)) best = { p, g: se.group };
		readout.textContent = best ? `${fmtTime(best.p[0])}${best.g ? ' ' + best.g : ''}: ` +
			`${(o.format || String)(best.p[1])} (${best.p[2]} profiles)` : '';
	});
	svg.addEventListener('mouseleave', () => { readout.textContent = ''; });
	if (series.length > 1) {
		const lg = h('div', { class: 'k-chart-legend' });
		for (const se of series.slice(0, 8)) {
			const sw = h('span', { class: 'k-swatch' });
			sw.style.background = hashColor(se.group);
			lg.appendChild(h('span', { class: 'k-legend-item' }, sw, se.group === '' ? '(none)' : se.group));
		}
		if (series.length > 8) lg.appendChild(h('span', { class: 'k-muted' }, `+${series.length - 8} more`));
		box.appendChild(lg);
	}
	return box;
}
