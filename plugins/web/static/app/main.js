// The web app's entry point: finds out who is signed in, draws the navigation, maps every
// address to its view, installs remote-control focus, and registers the service worker
// (which caches only this shell — never media, API answers or anything personal).

import { ApiError, get, has, loadRoutes, onSignedOut } from './api.js';
import { h, mount } from './dom.js';
import { installSpatialFocus } from './focus.js';
import { fitNav, mountNav } from './nav.js';
import { checkDownloads, downloads, onDownloadsChange, removeAll } from './offline.js';
import { currentPath, go, route, start } from './router.js';
import { forget, onSessionChange, restore, session } from './session.js';
import { problem, toast } from './ui.js';
import { accountView } from './views/account.js';
import { adminView } from './views/admin.js';
import { downloadsAvailable, downloadsView, offlinePlayerView } from './views/downloads.js';
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
route('/downloads', downloadsView);
route('/offline/:id', offlinePlayerView);
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
    downloadsAvailable() ? link('#/downloads', 'Downloads', { item: 'downloads' }) : null,
    session.isAdmin ? link('#/admin', 'Settings') : null,
    link('#/account', session.user.username, { class: 'account', 'aria-label': `Account: ${session.user.username}` })]);
  markCurrent();
  showDownloadsLink();
}

/** The Downloads link is there while this person has downloads on this device (the row of
 * links has no room to spare for one that would show an empty page). */
async function showDownloadsLink() {
  const item = document.querySelector('#nav li.downloads');
  if (!item || !session.user) return;
  item.hidden = !(await downloads(session.user.id).catch(() => [])).length;
  fitNav();
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

// Downloads are held by this sign-in: checked on every contact, deleted when it is revoked.
const LAST_USER = 'hearth-last-user';

function contact() {
  if (session.user) checkDownloads(session.user.id).catch((err) => console.warn('downloads:', err));
}

function remember(user) {
  if (user) localStorage.setItem(LAST_USER, JSON.stringify({ id: user.id, username: user.username, role: user.role }));
  else localStorage.removeItem(LAST_USER);
}

function lastUser() {
  try { return JSON.parse(localStorage.getItem(LAST_USER) || 'null'); } catch { return null; }
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
    const last = lastUser();
    if (!session.user && last) removeAll(last.id).catch(() => {}); // signing out ends them too
    remember(session.user);
    if (session.user) await loadRoutes();
    drawNav();
  });
  onSignedOut(() => {
    if (!session.user) return;
    removeAll(session.user.id).catch(() => {});
    remember(null);
    forget();
    toast('You were signed out.');
    go('/signin', { replace: true });
  });
  window.addEventListener('hashchange', markCurrent);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && session.user) get('/api/auth/me').then(contact, () => {});
  });
  window.addEventListener('online', contact);
  onDownloadsChange(showDownloadsLink);
  const before = lastUser();
  try {
    if (!navigator.onLine && before) throw new ApiError(0, 'offline', 'No network.');
    await restore();
    if (session.user) await loadRoutes();
    else if (before) await removeAll(before.id); // signed out or revoked while away
    remember(session.user);
  } catch (err) {
    if (err.status !== 0 || !before) {
      problem(document.getElementById('main'), err);
      return;
    }
    session.user = before; // no server: what is on this device still plays
    if (!location.hash.startsWith('#/offline/')) history.replaceState(null, '', '#/downloads');
  }
  await start({ check: guard, onError: problem });
  if (navigator.onLine) contact();
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker:', err));
  }
}

boot();
