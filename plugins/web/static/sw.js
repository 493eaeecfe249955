// Hearth's service worker. It caches the app shell of one build — index, modules, styles,
// icons — so the app opens instantly and says "cannot reach the server" when the box is off.
// It never caches or even looks at media, API answers or anything about a person: those
// requests pass straight through to the network.

const BUILD = '%BUILD%';
const SHELL = %SHELL_FILES%;
const CACHE = `hearth-shell-${BUILD}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith('hearth-shell-') && n !== CACHE)
      .map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

function isShell(url) {
  return url.origin === self.location.origin
    && (url.pathname === '/' || url.pathname.startsWith(`/app/v-${BUILD}/`));
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (!isShell(url)) return; // API, media, artwork: never touched
  if (url.pathname === '/') {
    // The page: the network first (a new build shows at once), the cached shell when offline.
    event.respondWith(fetch(request).catch(() => caches.match('/')));
    return;
  }
  event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
});
