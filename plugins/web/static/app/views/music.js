// Music pages: an artist's albums, an album's tracks (disc by disc) with Play, Add to queue
// and Add to playlist, and a single track. Playing goes to the queue in audio.js.

import { children } from '../catalog.js';
import { clock, h, mount, plural } from '../dom.js';
import { enqueue, playTracks } from '../audio.js';
import { addToPlaylist, playlistsAvailable } from './playlists.js';
import { downloadButton } from './downloads.js';
import { fixMatchButton } from './fix_match.js';
import { art, button, grid, heading, icon } from '../ui.js';

export async function artistPage(root, item, signal) {
  const albums = await children(item.id, signal, 'year');
  mount(root,
    h('section.hero.compact', h('div.hero-art', art(item, 'square')), h('div.hero-text',
      h('h1', item.title), h('p.meta', `${albums.length} album${albums.length === 1 ? '' : 's'}`))),
    albums.length ? grid(albums) : h('p.empty', 'No albums.'));
  const first = root.querySelector('.grid a');
  if (first) first.dataset.autofocus = '';
}

export async function albumPage(root, item, signal) {
  const tracks = await children(item.id, signal);
  const discs = new Set(tracks.map((t) => t.disc_number || 1));
  const rows = tracks.map((track, i) => h('tr',
    h('td.num', discs.size > 1 ? `${track.disc_number || 1}.${track.index_number ?? ''}` : String(track.index_number ?? i + 1)),
    h('td', h('button.btn.link.track', {
      type: 'button', onclick: () => playTracks(tracks, i), 'aria-label': `Play ${track.title}`,
    }, track.title)),
    h('td.time', track.duration ? clock(track.duration) : ''),
    h('td', button('+', () => enqueue([track]), { kind: 'ghost', label: `Add ${track.title} to the queue` }))));
  const artistLink = item.parent_id
    ? h('a', { href: `#/item/${encodeURIComponent(item.parent_id)}` }, item.artist || item.parent_title)
    : item.artist || '';
  mount(root,
    h('section.hero.compact', h('div.hero-art', art(item, 'square')), h('div.hero-text',
      h('h1', item.title),
      h('p.meta', artistLink, item.year ? ` · ${item.year}` : '', ` · ${plural(tracks.length, 'track')}`),
      h('div.actions',
        h('button.btn.primary', { type: 'button', 'data-autofocus': true, onclick: () => playTracks(tracks) }, icon('▶'), ' Play album'),
        button('Add to queue', () => enqueue(tracks)),
        playlistsAvailable() ? button('Add to playlist', () => addToPlaylist(tracks.map((t) => t.id))) : null,
        downloadButton({ item: item.id }, item.kind),
        fixMatchButton(item)))),
    h('table.tracks', h('caption.sr-only', `Tracks of ${item.title}`),
      h('thead', h('tr', h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Title'),
        h('th', { scope: 'col' }, 'Length'), h('th', { scope: 'col' }, h('span.sr-only', 'Queue')))),
      h('tbody', rows)));
}

export function trackPage(root, item) {
  mount(root,
    heading(item.title),
    h('p.meta', [item.artist, item.parent_title].filter(Boolean).join(' · ')),
    h('div.actions',
      h('button.btn.primary', { type: 'button', 'data-autofocus': true, onclick: () => playTracks([item]) }, icon('▶'), ' Play'),
      button('Add to queue', () => enqueue([item])),
      item.parent_id ? h('a.btn', { href: `#/item/${encodeURIComponent(item.parent_id)}` }, 'Album') : null,
      playlistsAvailable() ? button('Add to playlist', () => addToPlaylist([item.id])) : null));
}
