// One library as a grid: filters (genre, year, sort) kept in the address so Back restores
// them, pages of 60 loaded as the person scrolls (or presses "Show more"), artwork fetched
// lazily at the size the card needs. Photo libraries open a viewer instead of a page.

import { get, qs } from '../api.js';
import { h, mount, plural } from '../dom.js';
import { go } from '../router.js';
import { card, field, heading } from '../ui.js';
import { openViewer } from './photos.js';

const PAGE = 60;
const SORTS = {
  movies: [['title', 'Title'], ['added', 'Recently added'], ['year', 'Year'], ['duration', 'Length']],
  shows: [['title', 'Title'], ['added', 'Recently added'], ['year', 'Year']],
  music: [['title', 'Name'], ['added', 'Recently added']],
  photos: [['taken', 'Date taken'], ['added', 'Recently added'], ['title', 'Name']],
  videos: [['title', 'Title'], ['added', 'Recently added'], ['year', 'Year'], ['taken', 'Date']],
};

function filters(library, query) {
  const sorts = SORTS[library.kind] || SORTS.movies;
  const sort = h('select', { name: 'sort' }, sorts.map(([value, label]) =>
    h('option', { value, selected: query.get('sort') === value }, label)));
  const order = h('select', { name: 'order' },
    h('option', { value: '' }, 'Default order'),
    h('option', { value: 'asc', selected: query.get('order') === 'asc' }, 'Ascending'),
    h('option', { value: 'desc', selected: query.get('order') === 'desc' }, 'Descending'));
  const genre = h('input', { name: 'genre', type: 'search', value: query.get('genre') || '', placeholder: 'Any' });
  const year = h('input', {
    name: 'year', type: 'number', inputmode: 'numeric', min: 1800, max: 3000,
    value: query.get('year') || '', placeholder: 'Any',
  });
  const el = h('form.filters', { role: 'search', 'aria-label': `Filter ${library.name}` },
    library.kind === 'photos' ? null : field('Genre', genre),
    library.kind === 'photos' ? null : field('Year', year),
    field('Sort by', sort), field('Order', order),
    h('button.btn', { type: 'submit' }, 'Apply'));
  const apply = () => {
    const data = Object.fromEntries(new FormData(el));
    go(`/library/${library.id}${qs(data)}`, { replace: true });
  };
  el.addEventListener('submit', (event) => { event.preventDefault(); apply(); });
  sort.addEventListener('change', apply);
  order.addEventListener('change', apply);
  return el;
}

export async function libraryView(root, ctx) {
  const { signal, query } = ctx;
  const id = Number(ctx.params.id);
  const { libraries = [] } = await get('/api/libraries', { signal });
  const library = libraries.find((l) => l.id === id);
  if (!library) throw Object.assign(new Error('No such library.'), { status: 404 });
  const params = {
    library: id,
    sort: query.get('sort') || (library.kind === 'photos' ? 'taken' : 'title'),
    order: query.get('order') || '',
    genre: query.get('genre') || '',
    year: query.get('year') || '',
    limit: PAGE,
  };
  const count = h('p.count', { role: 'status' });
  const list = h('div.grid', { role: 'list', 'aria-label': library.name });
  const more = h('button.btn.more', { type: 'button', hidden: true }, 'Show more');
  const loaded = [];
  let total = 0;
  let busy = false;

  const load = async () => {
    if (busy) return;
    busy = true;
    more.disabled = true;
    try {
      const page = await get(`/api/items${qs({ ...params, offset: loaded.length })}`, { signal });
      total = page.total;
      for (const item of page.items) {
        const index = loaded.length;
        loaded.push(item);
        const onclick = item.kind === 'photo' ? (event) => {
          event.preventDefault();
          openViewer(loaded, index);
        } : undefined;
        list.append(h('div.cell', { role: 'listitem' }, card(item, { onclick })));
      }
      count.textContent = total ? plural(total, 'item') : '';
      more.hidden = loaded.length >= total;
    } finally {
      busy = false;
      more.disabled = false;
    }
  };
  more.addEventListener('click', load);
  mount(root,
    heading(library.name),
    library.online ? null : h('p.notice', { role: 'status' },
      'The drive holding this library is not connected. Plug it in and it comes back as it was.'),
    filters(library, query),
    count,
    list,
    more);
  await load();
  if (!loaded.length) {
    list.replaceWith(h('p.empty', params.genre || params.year
      ? 'Nothing matches these filters.' : 'This library is empty.'));
  }
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && !more.hidden) load().catch(() => {});
  }, { rootMargin: '600px' });
  observer.observe(more);
  ctx.onLeave(() => observer.disconnect());
  const first = list.querySelector('a');
  if (first) first.dataset.autofocus = '';
}
