// The music queue and the bar at the bottom that plays it: it survives page changes, so one
// can browse while listening. Tracks play as they are (direct play); a finished track is
// reported once so "recently played" can know, unless history is paused on the server.

import { has, put } from './api.js';
import { h, mount } from './dom.js';
import { dialog, toast } from './ui.js';

const state = { tracks: [], index: -1 };
let bar;
let audio;
let label;

function ensureBar() {
  if (bar) return;
  audio = h('audio', { controls: true, preload: 'auto', 'aria-label': 'Music player' });
  label = h('div.now', { 'aria-live': 'polite' });
  const prev = h('button.btn.ghost', { type: 'button', 'aria-label': 'Previous track' }, '«');
  const next = h('button.btn.ghost', { type: 'button', 'aria-label': 'Next track' }, '»');
  const list = h('button.btn.ghost', { type: 'button', 'aria-label': 'Show queue' }, '☰');
  const close = h('button.btn.ghost', { type: 'button', 'aria-label': 'Stop and clear queue' }, '✕');
  prev.addEventListener('click', () => playAt(state.index - 1));
  next.addEventListener('click', () => playAt(state.index + 1));
  list.addEventListener('click', showQueue);
  close.addEventListener('click', clear);
  audio.addEventListener('ended', () => {
    report(state.tracks[state.index], audio.duration);
    if (state.index + 1 < state.tracks.length) playAt(state.index + 1);
  });
  audio.addEventListener('error', () => {
    const track = state.tracks[state.index];
    if (!track) return;
    toast(`“${track.title}” cannot be played in this browser; skipping.`);
    if (state.index + 1 < state.tracks.length) playAt(state.index + 1);
  });
  bar = h('section.audio-bar', { 'aria-label': 'Now playing', hidden: true },
    label, h('div.controls', prev, audio, next, list, close));
  document.body.append(bar);
}

function report(track, duration) {
  if (!track || !Number.isFinite(duration) || !has('PUT', '/api/items/{id}/progress')) return;
  put(`/api/items/${encodeURIComponent(track.id)}/progress`, { position: duration, duration })
    .catch(() => {});
}

function playAt(index) {
  if (index < 0 || index >= state.tracks.length) return;
  state.index = index;
  const track = state.tracks[index];
  audio.src = `/api/items/${encodeURIComponent(track.id)}/stream`;
  audio.play().catch(() => {});
  mount(label, h('strong', track.title || 'Untitled'), ' ',
    h('span', [track.artist, track.parent_title].filter(Boolean).join(' · ')),
    h('span.pos', ` ${index + 1}/${state.tracks.length}`));
  bar.hidden = false;
  document.body.classList.add('has-audio');
  if ('mediaSession' in navigator) {
    navigator.mediaSession.metadata = new MediaMetadata({
      title: track.title || '', artist: track.artist || '', album: track.parent_title || '',
    });
    navigator.mediaSession.setActionHandler('nexttrack', () => playAt(state.index + 1));
    navigator.mediaSession.setActionHandler('previoustrack', () => playAt(state.index - 1));
  }
}

function clear() {
  if (!audio) return;
  audio.pause();
  audio.removeAttribute('src');
  audio.load();
  state.tracks = [];
  state.index = -1;
  bar.hidden = true;
  document.body.classList.remove('has-audio');
}

function showQueue() {
  const items = state.tracks.map((track, i) => h('li', h('button.btn.link', {
    type: 'button',
    'aria-current': i === state.index ? 'true' : undefined,
    onclick: () => { playAt(i); box.close(); },
  }, `${i + 1}. ${track.title}`)));
  const box = dialog('Queue', h('ol.queue', items));
}

/** Replace the queue with `tracks` and play from `start`. */
export function playTracks(tracks, start = 0) {
  ensureBar();
  state.tracks = tracks.filter((t) => t.kind === 'track' || t.kind === undefined);
  if (!state.tracks.length) return;
  playAt(Math.min(start, state.tracks.length - 1));
}

/** Add to the end of the queue (and start playing if nothing was). */
export function enqueue(tracks) {
  ensureBar();
  const idle = state.index < 0;
  state.tracks.push(...tracks.filter((t) => t.kind === 'track'));
  if (idle) playAt(0);
  else toast(`Added ${tracks.length} to the queue.`);
}

/** Pause music (a video is starting). */
export function pauseMusic() {
  if (audio && !audio.paused) audio.pause();
}
