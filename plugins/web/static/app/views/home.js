// Home: continue watching, next up, recently added in each library, and the libraries.
// Rows whose routes this server lacks, or that are empty, are simply not shown.

import { get, has } from '../api.js';
import { h, mount, plural } from '../dom.js';
import { heading, shelf } from '../ui.js';

const KINDS = { movies: 'Films', shows: 'TV shows', music: 'Music', photos: 'Photos', videos: 'Home videos' };
// what a library's tile counts (its main kind of item) and the word for one of them
const COUNTED = { movies: ['movie', 'film'], shows: ['show', 'show'], music: ['album', 'album'], photos: ['photo', 'photo'], videos: ['video', 'video'] };

/** "12 films" under "Movies" (the count's noun says the kind), never "Music Music"; the kind
 * alone only when there is no count and the name does not already say it. */
export function tileText(library) {
  if (!library.online) return 'Drive not connected';
  const [key, noun] = COUNTED[library.kind] || [];
  const counts = library.counts || {};
  if (key && typeof counts[key] === 'number') return plural(counts[key], noun);
  const kind = KINDS[library.kind] || library.kind;
  const fold = (text) => String(text).toLowerCase().replace(/[^a-z]/g, '');
  return fold(library.name) === fold(kind) ? '' : kind;
}

async function optional(path, signal) {
  if (!has('GET', path)) return { items: [] };
  try {
    return await get(path, { signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    return { items: [], error: err };
  }
}

export function fraction(item) {
  const p = item.progress;
  return p && p.duration ? Math.min(1, p.position / p.duration) : 0;
}

export async function homeView(root, ctx) {
  const { signal } = ctx;
  const [resume, next, recent, libraries] = await Promise.all([
    optional('/api/me/continue', signal),
    optional('/api/me/next', signal),
    get('/api/recent?limit=20', { signal }),
    get('/api/libraries', { signal }),
  ]);
  const shelves = [
    shelf('Continue watching', resume.items, {
      progressOf: fraction,
      hrefOf: (item) => `#/play/${encodeURIComponent(item.id)}`,
    }),
    shelf('Next up', next.items),
    ...(recent.libraries || []).map((library) => shelf(`Recently added in ${library.name}`,
      library.items, { link: `#/library/${library.library_id}` })),
  ].filter(Boolean);
  const libs = libraries.libraries || [];
  mount(root,
    heading('Home'),
    h('nav.libraries', { 'aria-label': 'Libraries' }, h('ul', libs.map((library) => h('li',
      h('a.library-tile', {
        href: `#/library/${library.id}`,
        class: library.online ? '' : 'offline',
      },
      h('span.name', library.name),
      h('span.sub', tileText(library))))))),
    shelves.length ? shelves : h('section.empty', h('h2', 'Nothing here yet'),
      h('p', libs.length
        ? 'Your libraries are empty. Drop files into their folders and they appear here within seconds.'
        : 'No library is shared with this profile yet. Ask the owner of this Hearth.')));
}
