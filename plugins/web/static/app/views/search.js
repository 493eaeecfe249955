// Search across every library this profile may see: titles, people, artists and albums,
// as you type (words match as prefixes), grouped by kind.

import { get, qs } from '../api.js';
import { h, mount } from '../dom.js';
import { grid, heading } from '../ui.js';
import { openViewer } from './photos.js';

const GROUPS = [
  ['movie', 'Movies'], ['show', 'Shows'], ['episode', 'Episodes'], ['artist', 'Artists'],
  ['album', 'Albums'], ['track', 'Songs'], ['video', 'Videos'], ['photo', 'Photos'],
  ['season', 'Seasons'],
];

export async function searchView(root, ctx) {
  const box = h('input', {
    type: 'search', name: 'q', value: ctx.query.get('q') || '', autocomplete: 'off',
    'aria-label': 'Search', placeholder: 'Titles, people, artists, albums…', 'data-autofocus': true,
  });
  const results = h('div.results', { 'aria-live': 'polite' });
  const searchForm = h('form.search', { role: 'search' }, box, h('button.btn', { type: 'submit' }, 'Search'));
  let timer = 0;
  let running = null;
  const run = async () => {
    const text = box.value.trim();
    history.replaceState(history.state, '', `#/search${qs({ q: text })}`);
    if (running) running.abort();
    if (!text) {
      mount(results);
      return;
    }
    running = new AbortController();
    ctx.signal.addEventListener('abort', () => running.abort(), { once: true });
    const { items = [], total = 0 } = await get(`/api/items${qs({ q: text, limit: 200 })}`, { signal: running.signal });
    show(results, text, items, total);
  };
  const later = () => run().catch((err) => { if (err.name !== 'AbortError') mount(results, h('p.form-error', err.message)); });
  searchForm.addEventListener('submit', (event) => { event.preventDefault(); clearTimeout(timer); later(); });
  box.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(later, 300);
  });
  ctx.onLeave(() => clearTimeout(timer));
  mount(root, heading('Search'), searchForm, results);
  box.focus();
  await run();
}

function show(results, text, items, total) {
  if (!items.length) {
    mount(results, h('p.empty', `Nothing found for “${text}”.`));
    return;
  }
  mount(results, h('p.count', `${total} result${total === 1 ? '' : 's'}`),
    GROUPS.map(([kind, title]) => {
      const found = items.filter((item) => item.kind === kind);
      if (!found.length) return null;
      const section = h('section', h('h2', title), grid(found));
      if (kind === 'photo') {
        section.querySelectorAll('a.card').forEach((link, i) => link.addEventListener('click', (event) => {
          event.preventDefault();
          openViewer(found, i);
        }));
      }
      return section;
    }));
}
