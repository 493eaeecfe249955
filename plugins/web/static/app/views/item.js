// An item's page, by kind: a movie, episode or home video (play, resume, details, cast,
// streams); a show (its seasons); a season (its episodes, with what was watched); a photo.
// Artists, albums and tracks are drawn by music.js. Children come from /api/items?parent=.

import { get, has, post } from '../api.js';
import { children, progressOf } from '../catalog.js';
import { bytes, clock, h, mount, runtime } from '../dom.js';
import { addToPlaylist, playlistsAvailable } from './playlists.js';
import { downloadButton } from './downloads.js';
import { art, button, dialog, grid, heading, icon, toast } from '../ui.js';
import { albumPage, artistPage, trackPage } from './music.js';
import { openViewer } from './photos.js';
import { fixMatchButton } from './fix_match.js';

const PLAYABLE = new Set(['movie', 'episode', 'video']);

/** Parent links: Show › Season › Episode. */
async function crumbs(item, signal) {
  const chain = [];
  let parentId = item.parent_id;
  while (parentId && chain.length < 3) {
    const parent = await get(`/api/items/${encodeURIComponent(parentId)}`, { signal });
    chain.unshift(parent);
    parentId = parent.parent_id;
  }
  if (!chain.length) return null;
  return h('nav.crumbs', { 'aria-label': 'Breadcrumbs' }, h('ol',
    chain.map((p) => h('li', h('a', { href: `#/item/${encodeURIComponent(p.id)}` }, p.title)))));
}

function metaLine(item) {
  const meta = item.metadata || {};
  const parts = [
    item.year,
    item.duration ? runtime(item.duration) : null,
    item.content_rating ? h('span.rating', { 'aria-label': `Rated ${item.content_rating}` }, item.content_rating) : null,
    meta.rating ? `★ ${Number(meta.rating).toFixed(1)}` : null,
    item.online ? null : h('span.offline', 'Drive not connected'),
  ].filter(Boolean);
  return h('p.meta', parts.flatMap((part, i) => (i ? [' · ', part] : [part])));
}

function genres(item) {
  const list = (item.metadata && item.metadata.genres) || [];
  return list.length ? h('ul.chips', { 'aria-label': 'Genres' }, list.map((g) => h('li', g))) : null;
}

function people(item) {
  const list = (item.metadata && item.metadata.people) || [];
  if (!list.length) return null;
  return h('section.people', h('h2', 'Cast and crew'), h('ul', list.slice(0, 30).map((p) =>
    h('li', h('strong', p.name), p.character ? ` as ${p.character}` : p.role && p.role !== 'actor' ? ` (${p.role})` : ''))));
}

function streamRows(item) {
  const rows = (item.streams || []).map((s) => h('tr',
    h('td', s.type || s.kind || ''),
    h('td', [s.codec, s.profile].filter(Boolean).join(' ')),
    h('td', s.width ? `${s.width}×${s.height}` : s.channels ? `${s.channels} ch` : ''),
    h('td', s.language || ''),
    h('td', s.title || '')));
  for (const sub of item.subtitles || []) {
    rows.push(h('tr', h('td', 'subtitle file'), h('td', sub.format), h('td', ''),
      h('td', sub.language || ''), h('td', sub.name)));
  }
  return rows;
}

export function fileDetails(item) {
  if (!item.file) return null;
  return h('details.file', h('summary', 'File and streams'),
    h('p', `${item.file.name} · ${bytes(item.file.size)}${item.file.container ? ` · ${item.file.container}` : ''}`),
    item.file.error ? h('p.notice', item.file.error) : null,
    h('table', h('thead', h('tr', ['Type', 'Codec', 'Format', 'Language', 'Title'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', streamRows(item))));
}

function hero(item, ...body) {
  const backdrop = item.artwork && item.artwork.fanart
    ? h('img.backdrop', { src: `${item.artwork.fanart}?size=1080`, alt: '', decoding: 'async' }) : null;
  return h('section.hero', backdrop, h('div.hero-art', art(item)), h('div.hero-text', ...body));
}

/** Links for a player that cannot sign in (VLC, Kodi, a TV's browser): valid a day, on this
 * device's sign-in only; the server makes them, shows them once. */
async function playerLinks(item) {
  let links;
  try {
    links = await post(`/api/items/${encodeURIComponent(item.id)}/stream-url`, {});
  } catch (err) {
    toast(err.message || 'Could not make a link.');
    return;
  }
  const row = (label, url, hint) => {
    const input = h('input.link', { type: 'text', readonly: true, value: url, 'aria-label': label });
    const copy = button('Copy', async () => {
      try {
        await navigator.clipboard.writeText(url);
        toast('Link copied.');
      } catch {
        input.select();
        toast('Press Ctrl+C (or long-press) to copy.');
      }
    });
    return h('div.link-row', h('h3', label), h('p.hint', hint), h('div.actions', input, copy,
      h('a.btn', { href: url.replace(/^https?:/, 'vlc:'), rel: 'noreferrer' }, 'Open in VLC')));
  };
  const until = new Date(links.expires_at).toLocaleString();
  dialog('Open in another player', h('div',
    h('p', `These links play “${item.title}” in VLC, Kodi or a TV browser without signing in. `
      + `Anyone who has one can play this title until ${until}, or until you sign this device out.`),
    row('The file as it is', links.url, 'Best quality; the player must handle the format.'),
    row('Converted as needed (HLS)', links.hls_url, 'Plays on almost anything.')),
    { className: 'links' });
}

async function playablePage(root, item, signal) {
  const progress = (await progressOf([item.id], signal))[item.id];
  const position = progress && !progress.watched ? progress.position : 0;
  const id = encodeURIComponent(item.id);
  const actions = h('div.actions',
    h('a.btn.primary', { href: `#/play/${id}`, 'data-autofocus': true },
      icon('▶'), position > 5 ? ` Resume from ${clock(position)}` : ' Play'),
    position > 5 ? h('a.btn', { href: `#/play/${id}?t=0` }, 'Play from start') : null,
    playlistsAvailable() ? button('Add to playlist', () => addToPlaylist([item.id])) : null,
    downloadButton({ item: item.id }, item.kind),
    has('POST', '/api/items/{id}/stream-url') ? button('Open in VLC…', () => playerLinks(item)) : null,
    fixMatchButton(item));
  const meta = item.metadata || {};
  mount(root,
    await crumbs(item, signal),
    hero(item,
      h('h1', item.title),
      item.kind === 'episode' && item.index_number != null ? h('p.sub', `Episode ${item.index_number}`) : null,
      metaLine(item),
      meta.tagline ? h('p.tagline', meta.tagline) : null,
      genres(item),
      progress && progress.watched ? h('p.watched', '✓ Watched') : null,
      actions,
      meta.plot ? h('p.plot', meta.plot) : null),
    people(item),
    fileDetails(item));
}

async function showPage(root, item, signal) {
  const seasons = await children(item.id, signal);
  mount(root,
    hero(item, h('h1', item.title), metaLine(item), genres(item),
      h('div.actions', fixMatchButton(item)),
      item.metadata && item.metadata.plot ? h('p.plot', item.metadata.plot) : null,
      h('div.actions', downloadButton({ item: item.id }, item.kind))),
    h('section', h('h2', 'Seasons'), seasons.length ? grid(seasons) : h('p.empty', 'No seasons.')));
  const first = root.querySelector('.grid a');
  if (first) first.dataset.autofocus = '';
}

async function seasonPage(root, item, signal) {
  const episodes = await children(item.id, signal);
  const progress = await progressOf(episodes.map((e) => e.id), signal);
  const rows = episodes.map((ep) => {
    const p = progress[ep.id];
    return h('li.episode',
      h('a.episode-link', { href: `#/item/${encodeURIComponent(ep.id)}` },
        art(ep, 'wide'),
        h('span.title', `${ep.index_number != null ? `${ep.index_number}. ` : ''}${ep.title}`),
        h('span.sub', [ep.duration ? runtime(ep.duration) : '', p && p.watched ? '✓ Watched'
          : p && p.position ? `${clock(p.position)} in` : ''].filter(Boolean).join(' · '))),
      h('a.btn', { href: `#/play/${encodeURIComponent(ep.id)}`, 'aria-label': `Play ${ep.title}` }, '▶'));
  });
  mount(root,
    await crumbs(item, signal),
    heading(item.title),
    item.metadata && item.metadata.plot ? h('p.plot', item.metadata.plot) : null,
    h('div.actions', downloadButton({ item: item.id }, item.kind)),
    rows.length ? h('ol.episodes', rows) : h('p.empty', 'No episodes.'));
  const first = root.querySelector('.episodes a');
  if (first) first.dataset.autofocus = '';
}

function photoPage(root, item) {
  mount(root, heading(item.title), h('p', h('button.btn.primary', {
    type: 'button', 'data-autofocus': true, onclick: () => openViewer([item], 0),
  }, 'View photo')), fileDetails(item));
  openViewer([item], 0);
}

export async function itemView(root, ctx) {
  const { signal } = ctx;
  const item = await get(`/api/items/${encodeURIComponent(ctx.params.id)}`, { signal });
  document.title = `${item.title} · Hearth`;
  ctx.onLeave(() => { document.title = 'Hearth'; });
  if (PLAYABLE.has(item.kind)) return playablePage(root, item, signal);
  if (item.kind === 'show') return showPage(root, item, signal);
  if (item.kind === 'season') return seasonPage(root, item, signal);
  if (item.kind === 'artist') return artistPage(root, item, signal);
  if (item.kind === 'album') return albumPage(root, item, signal);
  if (item.kind === 'track') return trackPage(root, item, signal);
  if (item.kind === 'photo') return photoPage(root, item);
  return mount(root, heading(item.title), fileDetails(item));
}
