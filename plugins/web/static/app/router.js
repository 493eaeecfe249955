// The hash router: "#/item/abc?t=30" -> the item view with params {id: 'abc'} and a query.
// Each view renders into a fresh element and gets an AbortSignal that fires when the person
// leaves, so fetches, timers and players of an old view stop by themselves.

import { h, mount } from './dom.js';

const table = [];
let current = null;
let guard = () => null;
let failure = (root, err) => mount(root, h('p', String(err)));

/** route('/item/:id', view, {public: true}) */
export function route(pattern, view, options = {}) {
  const keys = [];
  const source = pattern.replace(/:(\w+)/g, (_, key) => {
    keys.push(key);
    return '([^/]+)';
  });
  table.push({ re: new RegExp(`^${source}$`), keys, view, open: Boolean(options.public) });
}

export function parse(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  return { path: path || '/', query: new URLSearchParams(at < 0 ? '' : raw.slice(at + 1)) };
}

/** Go to a route; `replace` keeps the history entry (redirects, filter changes). */
export function go(path, { replace = false } = {}) {
  if (replace) {
    history.replaceState(history.state, '', `#${path}`);
    render();
  } else if (location.hash === `#${path}`) {
    render();
  } else {
    location.hash = path;
  }
}

export function currentPath() {
  const { path, query } = parse();
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** `check(entry, ctx)` answers a path to redirect to, or null; `onError(root, err)` draws. */
export function start({ check, onError }) {
  guard = check;
  failure = onError;
  window.addEventListener('hashchange', render);
  return render();
}

export async function render() {
  const { path, query } = parse();
  if (current) {
    current.controller.abort();
    for (const cleanup of current.cleanups.splice(0)) {
      try { cleanup(); } catch (err) { console.warn('cleanup failed', err); }
    }
  }
  let entry = null;
  let params = {};
  for (const candidate of table) {
    const match = candidate.re.exec(path);
    if (match) {
      entry = candidate;
      candidate.keys.forEach((key, i) => { params[key] = decodeURIComponent(match[i + 1]); });
      break;
    }
  }
  const controller = new AbortController();
  const state = { controller, cleanups: [] };
  current = state;
  const ctx = {
    path,
    params,
    query,
    signal: controller.signal,
    onLeave: (fn) => state.cleanups.push(fn),
  };
  const redirect = guard(entry, ctx);
  if (redirect && redirect !== path) {
    go(redirect, { replace: true });
    return;
  }
  const main = document.getElementById('main');
  const root = h('div.view', { 'aria-busy': 'true' }, h('p.loading', { role: 'status' }, 'Loading…'));
  mount(main, root);
  window.scrollTo(0, 0);
  try {
    if (!entry) throw Object.assign(new Error('There is no such page.'), { status: 404 });
    await entry.view(root, ctx);
  } catch (err) {
    if (err.name === 'AbortError' || controller.signal.aborted) return;
    failure(root, err);
  } finally {
    root.removeAttribute('aria-busy');
  }
  if (current === state) focusView(root);
}

/** Put focus where a remote or a screen reader expects it after a page change. */
function focusView(root) {
  if (root.contains(document.activeElement) && document.activeElement !== document.body) return;
  const target = root.querySelector('[data-autofocus]') || root.querySelector('h1');
  if (!target) return;
  if (!target.hasAttribute('tabindex') && !target.matches('a,button,input,select,textarea')) {
    target.setAttribute('tabindex', '-1');
  }
  target.focus({ preventScroll: true });
}
