// Playlists: yours only. Make one, add things from any page, put them in order with the
// Up/Down buttons (keyboard- and remote-friendly, no dragging needed), play them: music goes
// to the queue, videos play one after another in the player.

import { del, get, has, patch, post, put } from '../api.js';
import { clock, h, mount, plural } from '../dom.js';
import { go } from '../router.js';
import { playTracks } from '../audio.js';
import { art, button, confirmDialog, dialog, field, form, heading, toast } from '../ui.js';
import { downloadButton } from './downloads.js';

export function playlistsAvailable() {
  return has('GET', '/api/playlists');
}

export async function playlistsView(root, ctx) {
  const { playlists = [] } = await get('/api/playlists', { signal: ctx.signal });
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off' });
  mount(root,
    heading('Playlists'),
    form([field('New playlist', name)], async (data) => {
      const made = await post('/api/playlists', { name: data.name });
      go(`/playlist/${made.id}`);
    }, 'Create', { label: 'Create a playlist' }),
    playlists.length
      ? h('ul.list', playlists.map((p, i) => h('li', h('a.row-link', {
        href: `#/playlist/${p.id}`, 'data-autofocus': i === 0 ? true : undefined,
      }, h('span.title', p.name), h('span.sub', plural(p.count, 'item'))))))
      : h('p.empty', 'No playlists yet. Add things to one from any movie, episode or album page.'));
}

export function playPlaylist(playlist, start = 0) {
  const items = playlist.items.slice(start);
  if (!items.length) return;
  if (items.every((item) => item.kind === 'track')) {
    playTracks(items);
  } else {
    go(`/play/${encodeURIComponent(items[0].id)}?playlist=${playlist.id}&pos=${start}&t=0`);
  }
}

export async function playlistView(root, ctx) {
  const id = ctx.params.id;
  let playlist = await get(`/api/playlists/${id}`, { signal: ctx.signal });
  const list = h('ol.playlist');
  const save = async (ids) => {
    playlist = await put(`/api/playlists/${id}/items`, { items: ids });
    draw();
  };
  const move = async (from, to) => {
    const ids = playlist.items.map((item) => item.id);
    const [moved] = ids.splice(from, 1);
    ids.splice(to, 0, moved);
    await save(ids);
    const again = list.querySelectorAll('li')[to];
    const target = again && again.querySelector(to > from ? '[data-move=down]' : '[data-move=up]');
    (target && !target.disabled ? target : again?.querySelector('a'))?.focus();
  };
  const draw = () => {
    mount(list, playlist.items.map((item, i) => h('li.playlist-item', { dataset: { id: item.id } },
      art(item), h('a', { href: `#/item/${encodeURIComponent(item.id)}` },
        h('span.title', item.title), h('span.sub', [item.parent_title, item.duration ? clock(item.duration) : '']
          .filter(Boolean).join(' · '))),
      h('div.item-actions',
        button('▶', () => playPlaylist(playlist, i), { label: `Play from ${item.title}` }),
        button('↑', () => move(i, i - 1), { label: `Move ${item.title} up`, dataset: { move: 'up' } }),
        button('↓', () => move(i, i + 1), { label: `Move ${item.title} down`, dataset: { move: 'down' } }),
        button('✕', () => save(playlist.items.filter((_, j) => j !== i).map((x) => x.id)),
          { label: `Remove ${item.title}` })))));
    for (const [i, li] of [...list.children].entries()) {
      li.querySelector('[data-move=up]').disabled = i === 0;
      li.querySelector('[data-move=down]').disabled = i === playlist.items.length - 1;
    }
    title.textContent = playlist.name;
    count.textContent = plural(playlist.items.length, 'item');
  };
  const title = h('h1');
  const count = h('p.count');
  const rename = h('input', { name: 'name', required: true, value: playlist.name, maxlength: 200 });
  mount(root,
    h('div.page-head', title, h('div.head-actions',
      h('button.btn.primary', { type: 'button', 'data-autofocus': true, onclick: () => playPlaylist(playlist) }, 'Play'),
      downloadButton({ playlist: playlist.id }, playlist.items.some((i) => i.kind !== 'track') ? 'video' : 'track'),
      button('Delete', async () => {
        if (await confirmDialog('Delete playlist?', `“${playlist.name}” will be deleted. The items stay in your library.`, 'Delete')) {
          await del(`/api/playlists/${id}`);
          go('/playlists', { replace: true });
        }
      }, { kind: 'danger' }))),
    count,
    list,
    h('details', h('summary', 'Rename'), form([field('Name', rename)], async (data) => {
      playlist = await patch(`/api/playlists/${id}`, { name: data.name });
      draw();
      toast('Renamed.');
    }, 'Rename')));
  draw();
  if (!playlist.items.length) list.after(h('p.empty', 'This playlist is empty.'));
}

/** The "Add to playlist" dialog for these item ids. */
export async function addToPlaylist(ids) {
  const { playlists = [] } = await get('/api/playlists');
  const append = async (playlistId) => {
    const current = await get(`/api/playlists/${playlistId}`);
    const updated = await put(`/api/playlists/${playlistId}/items`, {
      items: [...current.items.map((item) => item.id), ...ids],
    });
    box.close();
    toast(`Added to “${updated.name}”.`);
  };
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off' });
  const box = dialog('Add to playlist', h('div',
    playlists.length ? h('ul.list', playlists.map((p) => h('li',
      button(`${p.name} (${p.count})`, () => append(p.id).catch((err) => toast(err.message)), { kind: 'block' })))) : null,
    form([field('New playlist', name)], async (data) => {
      const made = await post('/api/playlists', { name: data.name, items: ids });
      box.close();
      toast(`Added to “${made.name}”.`);
    }, 'Create and add')));
  const first = box.querySelector('button.block, input');
  if (first) first.focus();
}
