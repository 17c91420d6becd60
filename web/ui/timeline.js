/*
 * timeline.js: the Timeline tab: one lane per thread over the profile's time, each sample a
 * bar from (end - value) to end coloured by its leaf function; hover shows the stack.
 */
import { h, api, errorBlock, fmtValue, hashColor, unitOf } from './util.js';

const LANE = 22, LABEL = 180;

export async function renderTimeline(panel, p) {
	let t;
	try {
		t = await api(`profiles/${p.id}/timeline`);
	} catch (e) {
		panel.appendChild(errorBlock(e));
		return;
	}
	const threads = t.threads || [];
	if (!threads.length) {
		panel.appendChild(h('div', { class: 'k-empty' }, 'No timeline for this profile: its samples carry no ' +
			'end timestamps' + (t.untimed_samples ? ` (${t.untimed_samples} untimed samples)` : '') +
			'. dd-trace-js wall profiles and kiln\'s profiler record them.'));
		return;
	}
	const unit = unitOf(t.type);
	const isTime = /nanoseconds/.test(t.type || '');
	/* the profile's span, or the samples' own when they fall outside it (clock skew) */
	let lo = Infinity, hi = -Infinity;
	for (const th of threads)
		for (let k = 0; k < th.end_ns.length; k++) {
			const e = th.end_ns[k];
			if (e - (isTime ? th.value[k] : 0) < lo) lo = e - (isTime ? th.value[k] : 0);
			if (e > hi) hi = e;
		}
	let s0 = t.start_ns, s1 = t.end_ns > s0 ? t.end_ns : s0 + 1;
	const span = s1 - s0;
	if (lo < s0 - span * 0.05 || hi > s1 + span * 0.05) {
		s0 = lo;
		s1 = hi > lo ? hi : lo + 1;
	}
	const leafOf = (k) => { const s = t.stacks[k] || []; return t.names[s[s.length - 1]] || ''; };
	panel.appendChild(h('p', { class: 'k-muted' }, `${threads.length} threads, ${t.attachment} ${t.type}; ` +
		'bars are coloured by leaf function; hover for the stack.' +
		(t.untimed_samples ? ` ${t.untimed_samples} samples without timestamps are not drawn.` : '')));
	const wrap = h('div', { class: 'k-timeline' });
	const canvas = h('canvas', { class: 'k-tl-canvas' });
	const tip = h('div', { class: 'k-tl-tip', hidden: true });
	wrap.appendChild(canvas);
	wrap.appendChild(tip);
	panel.appendChild(wrap);
	/* legend: heaviest leaf functions */
	const weight = new Map();
	for (const th of threads)
		for (let k = 0; k < th.value.length; k++) {
			const l = leafOf(th.stack[k]);
			weight.set(l, (weight.get(l) || 0) + th.value[k]);
		}
	const legend = h('div', { class: 'k-legend' });
	[...weight.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).forEach(([nm, v]) => {
		const sw = h('span', { class: 'k-swatch' });
		sw.style.background = hashColor(nm);
		legend.appendChild(h('span', { class: 'k-legend-item' }, sw, nm, h('span', { class: 'k-muted' }, ' ' + fmtValue(v, unit))));
	});
	panel.appendChild(legend);

	const bars = []; /* [lane, x0, x1, thread, k] for hit tests */
	function draw() {
		const W = Math.max(wrap.clientWidth, 400), H = threads.length * LANE + 20;
		const dpr = window.devicePixelRatio || 1;
		canvas.width = W * dpr;
		canvas.height = H * dpr;
		canvas.style.width = W + 'px';
		canvas.style.height = H + 'px';
		const ctx = canvas.getContext('2d');
		ctx.scale(dpr, dpr);
		ctx.font = '12px system-ui, sans-serif';
		ctx.textBaseline = 'middle';
		const x = (ns) => LABEL + ((ns - s0) / (s1 - s0)) * (W - LABEL - 8);
		bars.length = 0;
		threads.forEach((th, lane) => {
			const y = lane * LANE;
			ctx.fillStyle = lane % 2 ? '#f7f7fa' : '#fff';
			ctx.fillRect(0, y, W, LANE);
			ctx.fillStyle = '#333';
			const label = (th.thread_name || 'thread') + (th.thread_id ? ' #' + th.thread_id : '');
			ctx.fillText(label.length > 26 ? label.slice(0, 25) + '…' : label, 4, y + LANE / 2);
			for (let k = 0; k < th.end_ns.length; k++) {
				const e = th.end_ns[k], b = isTime ? e - th.value[k] : e;
				const x0 = x(b), x1 = Math.max(x(e), x0 + 1);
				ctx.fillStyle = hashColor(leafOf(th.stack[k]));
				ctx.fillRect(x0, y + 3, x1 - x0, LANE - 6);
				bars.push([lane, x0, x1, th, k]);
			}
		});
		ctx.fillStyle = '#666';
		ctx.fillText('0 s', LABEL, H - 9);
		ctx.textAlign = 'right';
		ctx.fillText(fmtValue(s1 - s0, 'nanoseconds'), W - 8, H - 9);
	}
	draw();
	canvas.addEventListener('mousemove', (ev) => {
		const r = canvas.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
		const lane = Math.floor(my / LANE);
		const hit = bars.find((b) => b[0] === lane && mx >= b[1] - 1 && mx <= b[2] + 1);
		if (!hit) { tip.hidden = true; return; }
		const [, , , th, k] = hit;
		const stack = (t.stacks[th.stack[k]] || []).map((i) => t.names[i]);
		tip.replaceChildren(h('div', { class: 'k-tl-head' }, `${th.thread_name || 'thread'} · ${fmtValue(th.value[k], unit)} · at ` +
			fmtValue(th.end_ns[k] - s0, 'nanoseconds')),
		h('ol', { class: 'k-tl-stack' }, stack.slice().reverse().slice(0, 20).map((f) => h('li', null, f))));
		tip.hidden = false;
		tip.style.left = Math.min(mx + 12, r.width - 320) + 'px';
		tip.style.top = (my + 12) + 'px';
	});
	canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
	window.kilnUI.timeline = {
		threads: threads.length, data: t, bars: () => bars.length,
		/* the centre of bar k in canvas CSS pixels */
		bar: (k) => bars[k] && { x: (bars[k][1] + bars[k][2]) / 2, y: bars[k][0] * LANE + LANE / 2 },
		inView: () => bars.filter((b) => b[1] >= LABEL - 1 && b[2] <= canvas.clientWidth + 1).length,
	};
}
