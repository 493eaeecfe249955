// The web app's entry point: finds out who is signed in, draws the navigation, maps every
// address to its view, installs remote-control focus, and registers the service worker
// (which caches only this shell — never media, API answers or anything personal).

import { get, has, loadRoutes, onSignedOut } from './api.js';
import { h, mount } from './dom.js';
import { installSpatialFocus } from './focus.js';
import { mountNav } from './nav.js';
import { currentPath, go, route, start } from './router.js';
import { forget, onSessionChange, restore, session } from './session.js';
import { problem, toast } from './ui.js';
import { accountView } from './views/account.js';
import { adminView } from './views/admin.js';
import { inviteView, setupView, signInView } from './views/auth.js';
import { homeView } from './views/home.js';
import { itemView } from './views/item.js';
import { libraryView } from './views/library.js';
import { playerView } from './views/player.js';
import { playlistsView, playlistView } from './views/playlists.js';
import { profilesView } from './views/profiles.js';
import { searchView } from './views/search.js';

const ADMIN = new Set([adminView]);

route('/setup', setupView, { public: true });
route('/signin', signInView, { public: true });
route('/invite/:code', inviteView, { public: true });
route('/', homeView);
route('/profiles', profilesView);
route('/library/:id', libraryView);
route('/item/:id', itemView);
route('/play/:id', playerView);
route('/search', searchView);
route('/playlists', playlistsView);
route('/playlist/:id', playlistView);
route('/account', accountView);
route('/admin', adminView);
route('/admin/:tab', adminView);

let libraries = [];

async function drawNav() {
  const nav = document.getElementById('nav');
  if (!session.user) {
    mount(nav);
    return;
  }
  try {
    libraries = (await get('/api/libraries')).libraries || [];
  } catch {
    libraries = [];
  }
  const link = (href, text, extra = {}) => h('li', { class: extra.item }, h('a', { href, ...extra, item: undefined }, text));
  mountNav(nav, [
    link('#/', 'Home'),
    libraries.filter((l) => l.online).map((l) => link(`#/library/${l.id}`, l.name)),
    link('#/search', 'Search', { item: 'search' }),
    has('GET', '/api/playlists') ? link('#/playlists', 'Playlists') : null,
    session.isAdmin ? link('#/admin', 'Settings') : null,
    link('#/account', session.user.username, { class: 'account', 'aria-label': `Account: ${session.user.username}` })]);
  markCurrent();
}

function markCurrent() {
  const path = `#${currentPath()}`;
  for (const a of document.querySelectorAll('#nav a')) {
    const href = a.getAttribute('href');
    const here = href === '#/' ? path === '#/' : path.startsWith(href);
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function guard(entry) {
  if (!entry || entry.open) return null;
  if (!session.user) return session.setupNeeded ? '/setup' : '/signin';
  if (ADMIN.has(entry.view) && !session.isAdmin) return '/';
  return null;
}

function back() {
  if (location.hash && location.hash !== '#/') history.back();
}

async function boot() {
  installSpatialFocus({ back });
  document.getElementById('skip').addEventListener('click', () => {
    const target = document.querySelector('#main h1') || document.getElementById('main');
    target.setAttribute('tabindex', '-1');
    target.focus();
  });
  // the API's shape is for signed-in people: learn it once someone is
  onSessionChange(async () => {
    if (session.user) await loadRoutes();
    drawNav();
  });
  onSignedOut(() => {
    if (!session.user) return;
    forget();
    toast('You were signed out.');
    go('/signin', { replace: true });
  });
  window.addEventListener('hashchange', markCurrent);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && session.user) get('/api/auth/me').catch(() => {});
  });
  try {
    await restore();
    if (session.user) await loadRoutes();
  } catch (err) {
    problem(document.getElementById('main'), err);
    return;
  }
  await start({ check: guard, onError: problem });
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker:', err));
  }
}

boot();
