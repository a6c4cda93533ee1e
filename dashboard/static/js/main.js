// The dashboard's entry: a hash router that mounts one view at a time into <main>.
import { initTheme } from './theme.js';
import { errorBox } from './dom.js';
import * as requests from './views/requests.js';
import * as detail from './views/detail.js';
import * as usage from './views/usage.js';
import * as ratelimits from './views/ratelimits.js';
import * as cache from './views/cache.js';
import * as conversations from './views/conversations.js';
import * as settings from './views/settings.js';
import * as compare from './views/compare.js';

// [pattern, view module, nav tab]; a view's mount(container, query, match) returns its cleanup.
const ROUTES = [
  [/^\/requests\/([A-Za-z0-9]+)$/, detail, 'requests'],
  [/^\/requests$/, requests, 'requests'],
  [/^\/usage$/, usage, 'usage'],
  [/^\/ratelimits$/, ratelimits, 'ratelimits'],
  [/^\/cache$/, cache, 'cache'],
  [/^\/conversations$/, conversations, 'conversations'],
  [/^\/settings$/, settings, 'settings'],
  [/^\/compare$/, compare, 'requests'],
];

const container = document.getElementById('view');
let cleanup = null;
let generation = 0;

function parseHash() {
  const hash = location.hash.replace(/^#/, '') || '/requests';
  const [path, query = ''] = hash.split('?');
  return { path, query: new URLSearchParams(query) };
}

async function render() {
  const mine = ++generation;
  if (cleanup) cleanup();
  cleanup = null;
  const { path, query } = parseHash();
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  if (!route) { location.replace('#/requests'); return; }
  const [pattern, view, tab] = route;
  for (const link of document.querySelectorAll('.tabs a')) {
    link.classList.toggle('active', link.dataset.view === tab);
    if (link.dataset.view === tab) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  // Each view draws into its own root: a slow view that finishes after the user moved on
  // writes into a detached element, never over the next view.
  const root = document.createElement('div');
  root.className = 'view';
  container.replaceChildren(root);
  container.dataset.view = tab;
  const label = document.querySelector(`.tabs a[data-view="${tab}"]`);
  document.title = `${label ? label.textContent : 'Dashboard'} · Claude Code Proxy`;
  try {
    const done = await view.mount(root, query, path.match(pattern));
    if (mine === generation) cleanup = done || null; else if (done) done();
  } catch (err) {
    if (mine === generation) root.replaceChildren(errorBox(err));
  }
}

initTheme(document.getElementById('theme-toggle'));
window.addEventListener('hashchange', render);
render();
