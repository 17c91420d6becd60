/*
 * app.js: the kiln serve web UI's entry point: a hash router over the pages (search, profile,
 * compare). Every view's state lives in the URL hash, so deep links load the same view.
 * window.kilnUI exposes the current page's objects to the browser tests.
 */
import { h, clear, parseHash, showError } from './util.js';
import { renderSearch } from './search.js';
import { renderProfile } from './profile.js';
import { renderCompare } from './compare.js';

window.kilnUI = { ready: false, renders: 0 };

let seq = 0;

async function route() {
	const my = ++seq;
	const { parts, params } = parseHash();
	const main = document.getElementById('k-main');
	const ui = window.kilnUI;
	if (ui.flame) ui.flame.destroy();
	ui.flame = null;
	ui.timeline = null;
	ui.compare = null;
	ui.ready = false;
	ui.route = parts[0] || 'search';
	showError(null);
	for (const a of document.querySelectorAll('[data-nav]'))
		a.classList.toggle('k-on', a.dataset.nav === ui.route);
	document.title = (ui.route === 'profile' ? 'Profile ' + (parts[1] || '') : ui.route === 'compare' ? 'Compare' : 'Search') + ' · kiln';
	try {
		if (ui.route === 'profile' && parts[1]) await renderProfile(main, parts[1], params);
		else if (ui.route === 'compare') await renderCompare(main, params);
		else if (ui.route === 'search' || !parts.length) await renderSearch(main, params);
		else clear(main).appendChild(h('div', { class: 'k-empty' }, 'No such page: ',
			h('code', null, location.hash), '. ', h('a', { href: '#/search' }, 'Go to search')));
	} catch (e) {
		showError('kiln UI: ' + (e && e.message ? e.message : e));
		console.warn(e);
	}
	if (my === seq) {
		ui.ready = true;
		ui.renders++;
	}
}

window.addEventListener('hashchange', route);
if (!window.KilnFlame) showError('kiln UI: flamegraph.js did not load');
route();
