// The TV remote: after an item was sent to a TV (play to TV), what the TV is playing, where it
// is (asked of the server every second, which follows the TV), and play/pause, seek (a bar and
// -30 s / +30 s), stop and volume. Works with a mouse, a finger, a keyboard or a TV remote:
// arrows move between the controls, Left/Right on the bar seek by 10 s (several presses make
// one seek), media keys do what they say. It never talks to the TV itself, only to the
// server's /api/renderers routes.

import { get, post } from '../api.js';
import { clock, h, mount } from '../dom.js';
import { art, button } from '../ui.js';

const POLL_EVERY = 1000;
const STEP = 30;
const KEY_STEP = 10;
const SETTLE = 500; // ms after the last arrow press before the seek is sent
const STATES = {
  playing: 'Playing', paused: 'Paused', buffering: 'Starting…', stopped: 'Stopped',
  idle: 'Nothing playing', gone: 'Not on the network', unreachable: 'Not answering',
};

/** What a TV's state means, in words. */
export function stateText(state) {
  return STATES[state] || state || '';
}

/** The TVs on the network (an empty list when there are none or the route says no). */
export async function listRenderers(signal) {
  const answer = await get('/api/renderers', { signal });
  return Array.isArray(answer) ? answer : answer.renderers || [];
}

/** A remote for `renderer` (a status from /api/renderers), playing `item` there; `onClose`
 * runs when the person closes it (the TV goes on). Polls until closed or `signal` aborts. */
export function tvRemote(item, renderer, { signal, onClose } = {}) {
  const closing = new AbortController();
  const stop = () => closing.abort();
  signal?.addEventListener('abort', stop, { once: true });
  const base = `/api/renderers/${encodeURIComponent(renderer.id)}`;
  let status = renderer;
  let dragging = false;
  let pendingSeek = null;
  let seekTimer = 0;
  let version = 0; // bumped by every action, so a poll that was already on its way is ignored
  let volumeBusy = false;
  let volumeWanted = null;
  const titles = new Map([[item.id, item.title]]);

  const state = h('p.remote-state', { role: 'status', dataset: { state: status.state } });
  const title = h('h2.remote-title');
  const message = h('p.remote-message', { role: 'alert', hidden: true });
  const time = h('span.remote-time', { dataset: { remoteTime: '' } });
  const total = h('span.remote-total');
  const bar = h('input.remote-seek', {
    type: 'range', min: 0, max: 1, step: 1, value: 0, 'aria-label': 'Position',
  });
  const volume = h('input.remote-volume', {
    type: 'range', min: 0, max: 100, step: 5, value: 50, 'aria-label': 'Volume',
  });
  const toggle = button('Play', () => act(playPause()), { kind: 'primary', dataset: { remoteToggle: '' } });
  const back = button('−30 s', () => seekBy(-STEP), { label: 'Back 30 seconds' });
  const ahead = button('+30 s', () => seekBy(STEP), { label: 'Forward 30 seconds' });
  const halt = button('Stop', () => act(post(`${base}/stop`)), { kind: 'danger' });
  const close = button('Close remote', () => { stop(); if (onClose) onClose(); }, { kind: 'ghost' });
  const panel = h('section.remote', { 'aria-label': `Remote for ${renderer.name}`, dataset: { renderer: renderer.id } },
    h('div.remote-head', h('p.remote-tv', h('span', 'On '), renderer.name), close),
    h('div.remote-now', art(item, 'poster'), h('div.remote-what', title, state)),
    h('div.remote-bar', time, bar, total),
    h('div.remote-buttons', back, toggle, ahead, halt),
    h('label.remote-loud', h('span', 'Volume'), volume),
    message);

  const duration = () => status.duration || item.duration || 0;
  const position = () => (pendingSeek ?? status.position ?? 0);

  function draw() {
    state.textContent = stateText(status.state);
    state.dataset.state = status.state;
    const other = status.item_id && status.item_id !== item.id;
    title.textContent = other ? titles.get(status.item_id) || 'Something else' : item.title;
    if (other && !titles.has(status.item_id)) nameOf(status.item_id);
    const end = duration();
    bar.max = String(Math.max(1, Math.round(end)));
    if (!dragging && pendingSeek === null) bar.value = String(Math.round(position()));
    const shown = dragging ? Number(bar.value) : position();
    time.textContent = clock(shown);
    total.textContent = end ? clock(end) : '–:––';
    bar.setAttribute('aria-valuetext', `${clock(shown)} of ${end ? clock(end) : 'unknown'}`);
    toggle.textContent = status.state === 'playing' ? 'Pause'
      : status.state === 'paused' ? 'Play' : 'Play again';
    toggle.setAttribute('aria-label', toggle.textContent);
    const usable = !['gone', 'unreachable'].includes(status.state);
    for (const control of [toggle, back, ahead, halt, bar, volume]) control.disabled = !usable;
    if (status.volume != null && document.activeElement !== volume) volume.value = String(status.volume);
  }

  async function nameOf(id) {
    titles.set(id, '…');
    try {
      titles.set(id, (await get(`/api/items/${encodeURIComponent(id)}`, { signal: closing.signal })).title);
    } catch {
      titles.set(id, 'Something else');
    }
    draw();
  }

  async function act(request) {
    version += 1;
    try {
      const answer = await request;
      if (answer && answer.id) status = answer;
      message.hidden = true;
    } catch (err) {
      if (err.name === 'AbortError') return;
      mount(message, err.message || String(err));
      message.hidden = false;
    }
    draw();
  }

  function playPause() {
    if (status.state === 'playing') return post(`${base}/pause`);
    if (status.state === 'paused') return post(`${base}/play`, {});
    return post(`${base}/play`, { item_id: item.id, position: 0 });
  }

  function seekTo(seconds) {
    const target = Math.max(0, Math.min(Math.round(seconds), Math.max(0, Math.floor(duration()) - 1)));
    pendingSeek = null;
    status = { ...status, position: target };
    return act(post(`${base}/seek`, { position: target }));
  }

  function seekBy(delta) {
    clearTimeout(seekTimer);
    return seekTo(position() + delta);
  }

  // Arrow presses on the bar add up and become one seek once they stop.
  bar.addEventListener('keydown', (event) => {
    const delta = { ArrowLeft: -KEY_STEP, ArrowRight: KEY_STEP, PageDown: -60, PageUp: 60 }[event.key];
    if (delta === undefined) return;
    event.preventDefault();
    pendingSeek = Math.max(0, Math.min(position() + delta, duration()));
    bar.value = String(Math.round(pendingSeek));
    draw();
    clearTimeout(seekTimer);
    seekTimer = setTimeout(() => seekTo(pendingSeek), SETTLE);
  });
  bar.addEventListener('input', () => { dragging = true; draw(); });
  bar.addEventListener('change', () => {
    dragging = false;
    seekTo(Number(bar.value));
  });
  // Each arrow press on the slider is a change: send the latest one whenever the last is done.
  volume.addEventListener('change', async () => {
    volumeWanted = Number(volume.value);
    if (volumeBusy) return;
    volumeBusy = true;
    while (volumeWanted !== null) {
      const wanted = volumeWanted;
      volumeWanted = null;
      await act(post(`${base}/volume`, { volume: wanted }));
    }
    volumeBusy = false;
  });
  panel.addEventListener('keydown', (event) => {
    const media = {
      MediaPlayPause: () => act(playPause()),
      MediaPlay: () => status.state !== 'playing' && act(playPause()),
      MediaPause: () => status.state === 'playing' && act(playPause()),
      MediaStop: () => act(post(`${base}/stop`)),
      MediaFastForward: () => seekBy(STEP),
      MediaRewind: () => seekBy(-STEP),
    }[event.key];
    if (media) {
      event.preventDefault();
      media();
    }
  });

  async function poll() {
    while (!closing.signal.aborted) {
      await new Promise((resolve) => { setTimeout(resolve, POLL_EVERY); });
      if (closing.signal.aborted) return;
      const asked = version;
      try {
        const found = (await listRenderers(closing.signal)).find((r) => r.id === renderer.id);
        if (asked !== version) continue;
        status = found || { ...status, state: 'gone' };
        draw();
      } catch (err) {
        if (err.name === 'AbortError') return;
      }
    }
  }

  draw();
  poll();
  panel.focusFirst = () => toggle.focus();
  panel.dispose = stop;
  return panel;
}
