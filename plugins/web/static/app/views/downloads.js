// Downloads: the Download button of items, seasons, albums and playlists (the original, or a
// phone-sized version the server makes), the Downloads page (each download's size and state,
// and the space left on this device), and the offline player that plays a stored download
// without the server, queueing the position reached for when it is back (offline.js).

import { has } from '../api.js';
import { bytes, clock, h, mount, plural } from '../dom.js';
import {
  checkDownloads, download, downloadFile, downloads, offlineSupported, onDownloadsChange,
  queueProgress, removeDownload, sendQueued, space,
} from '../offline.js';
import { session } from '../session.js';
import { button, dialog, heading, toast } from '../ui.js';

const VERSIONS = [
  ['original', 'Original file', 'Best quality, as big as the file on the server.'],
  ['1080p', 'Phone size, 1080p', 'H.264 MP4, made by the server first.'],
  ['720p', 'Phone size, 720p', 'Smaller; good for a phone or tablet.'],
  ['480p', 'Phone size, 480p', 'Smallest; for a long trip on little space.'],
];
const VIDEO = new Set(['movie', 'episode', 'video', 'show', 'season']);
const SAVE_EVERY = 5; // seconds of playback between positions queued offline

export function downloadsAvailable() {
  return offlineSupported() && has('POST', '/api/downloads');
}

/** The Download button: `what` is {item: id} or {playlist: id}; `kind` says if it is video. */
export function downloadButton(what, kind) {
  if (!downloadsAvailable()) return null;
  return button('Download', () => {
    const choices = VIDEO.has(kind) ? VERSIONS : VERSIONS.slice(0, 1);
    const box = dialog('Download for offline viewing', h('div.download-choices',
      h('p', 'Downloads stay in this browser until you delete them, or until you may no longer watch them here.'),
      choices.map(([quality, label, hint]) => h('p', button(label, async () => {
        box.close();
        try {
          const made = await download(session.user.id, what, quality);
          toast(`Downloading ${plural(made.length, 'item')}; see Downloads.`);
        } catch (err) {
          toast(err.message || 'Could not download this.');
        }
      }, { label: `Download: ${label}` }), ' ', h('span.hint', hint)))));
  });
}

function stateText(d) {
  if (d.state === 'stored') return 'On this device';
  if (d.state === 'downloading') return `Downloading ${d.size ? Math.floor((100 * d.received) / d.size) : 0} %`;
  if (['queued', 'waiting'].includes(d.state)) return d.quality === 'original' ? 'Waiting' : 'Waiting for the server to make it';
  if (d.state === 'ready') return 'Made; fetching soon';
  if (d.state === 'making') return `The server is making it (${Math.round(100 * (d.progress || 0))} %)`;
  if (d.state === 'paused') return d.error ? `Paused: ${d.error}` : 'Paused';
  return d.state === 'failed' ? 'The server could not make it' : d.state;
}

export async function downloadsView(root, ctx) {
  if (!offlineSupported()) {
    mount(root, heading('Downloads'), h('p.empty', 'This browser cannot keep downloads.'));
    return;
  }
  const draw = async () => {
    const mine = await downloads(session.user.id);
    const room = await space();
    const rows = mine.map((d) => h('li.download', { dataset: { id: d.id, state: d.state } },
      h('span.title', d.parent_title ? `${d.parent_title} · ${d.title}` : d.title),
      h('span.sub', [d.quality === 'original' ? 'Original' : d.quality, bytes(d.size), stateText(d)].filter(Boolean).join(' · ')),
      h('span.actions',
        d.state === 'stored' ? h('a.btn.primary', { href: `#/offline/${encodeURIComponent(d.id)}`, 'aria-label': `Play ${d.title}` }, '▶ Play') : null,
        button('Delete', () => removeDownload(d.id), { label: `Delete ${d.title}` }))));
    mount(root,
      heading('Downloads'),
      room ? h('p.space', `${bytes(room.used)} used here · ${bytes(room.left)} left on this device`) : null,
      rows.length ? h('ul.downloads', rows) : h('p.empty', 'Nothing downloaded yet. Use Download on a film, an episode, a season, an album or a playlist.'));
  };
  ctx.onLeave(onDownloadsChange(() => { draw().catch(() => {}); }));
  if (navigator.onLine) checkDownloads(session.user.id).catch(() => {});
  await draw();
}

/** Plays a stored download from this device's storage; works with no server at all. */
export async function offlinePlayerView(root, ctx) {
  const userId = session.user.id;
  const record = (await downloads(userId)).find((d) => d.id === ctx.params.id);
  if (!record || record.state !== 'stored') {
    mount(root, heading('Downloads'), h('p.empty', 'This download is not on this device.'));
    return;
  }
  const url = URL.createObjectURL(await downloadFile(record.id));
  const video = h('video', { src: url, controls: true, autoplay: true, playsinline: true });
  let saved = 0;
  const save = () => {
    if (!Number.isFinite(video.currentTime) || video.currentTime === saved) return;
    saved = video.currentTime;
    const duration = Number.isFinite(video.duration) ? video.duration : record.duration;
    queueProgress(userId, record.item, saved, duration)
      .then(() => (navigator.onLine ? sendQueued(userId) : null)).catch(() => {});
  };
  video.addEventListener('timeupdate', () => { if (Math.abs(video.currentTime - saved) >= SAVE_EVERY) save(); });
  video.addEventListener('pause', save);
  video.addEventListener('ended', save);
  ctx.onLeave(() => {
    save();
    video.pause();
    URL.revokeObjectURL(url);
  });
  mount(root, h('div.player.offline-player',
    h('div.player-top', h('a.btn.ghost', { href: '#/downloads' }, '← Downloads'), h('h1', record.title)),
    video,
    h('p.player-status', `${record.title} · from this device${record.duration ? ` · ${clock(record.duration)}` : ''}`)));
  video.play().catch(() => {}); // a browser that wants a tap first shows its own play button
}
