// The player: a native <video> fed the file itself when the decision says direct play, else
// the engine's HLS. It resumes where this person stopped, reports the position every ~10 s
// (and on pause, seek and leaving), says "watched" at 90 %, shows why it plays the way it
// does, offers audio and subtitle tracks, plays a playlist through, and can hand off to a TV
// (then the TV remote, remote.js, takes the picture's place). Playback never dead-ends where
// another way exists: a media error, no picture, or no progress for 10 s makes it ask the
// server again with what failed left out of what this browser reports (the copied codecs,
// so a transcode; then the other HLS segment type), saying in one line why.

import { get, has, post, put, qs } from '../api.js';
import { progressOf, sendingProgress } from '../catalog.js';
import { clock, h, mount } from '../dom.js';
import { pauseMusic } from '../audio.js';
import { subtitleFile } from '../hls.js';
import { attach, decide, endHlsSession, hlsRouteExists, hlsUrl } from '../playback.js';
import { go } from '../router.js';
import { button, dialog, field, toast } from '../ui.js';
import { detailWords } from './playback_words.js';
import { listRenderers, stateText, tvRemote } from './remote.js';

const REPORT_EVERY = 10_000;
const STALL_AFTER = 10_000; // no progress this long on an attempt counts as a failure
const ATTEMPTS = 3;
const CODEC_WORDS = { h264: 'H.264', hevc: 'HEVC', vp9: 'VP9', av1: 'AV1', vp8: 'VP8', aac: 'AAC', ac3: 'AC3', eac3: 'E-AC3', opus: 'Opus', flac: 'FLAC', mp3: 'MP3', vorbis: 'Vorbis' };
const WATCHED_AT = 0.9;
const METHODS = { direct_play: 'Direct play', direct_stream: 'Direct stream', transcode: 'Transcode' };
const MODES = {
  file: 'the file itself, over HTTP ranges',
  'native-hls': "HLS, by the browser's own player",
  'mse-hls': 'HLS, by the web app over Media Source Extensions',
};

function startAt(query, saved, duration) {
  if (query.has('t')) return Math.max(0, Number(query.get('t')) || 0);
  if (!saved || saved.watched) return 0;
  const end = saved.duration || duration || 0;
  return end && saved.position > end * 0.95 ? 0 : saved.position || 0;
}

export async function playerView(root, ctx) {
  const { signal, query } = ctx;
  const id = ctx.params.id;
  const item = await get(`/api/items/${encodeURIComponent(id)}`, { signal });
  if (!item.file) throw Object.assign(new Error('This item has nothing to play.'), { status: 400 });
  const saved = (await progressOf([item.id], signal))[item.id];
  let start = startAt(query, saved, item.duration);
  pauseMusic();

  const video = h('video', {
    controls: true, playsinline: true, preload: 'auto', 'aria-label': item.title, 'data-autofocus': true,
  });
  const status = h('p.player-status', { role: 'status' });
  const details = h('aside.player-details', { hidden: true, 'aria-label': 'Playback details' });
  const tracks = h('div.player-tracks', { hidden: true });
  const back = h('button.btn.ghost', { type: 'button', 'aria-label': 'Back' }, '←');
  back.addEventListener('click', () => (history.length > 1 ? history.back() : go(`/item/${id}`)));
  const toggle = (panel) => () => { panel.hidden = !panel.hidden; };
  const bar = h('div.player-top', back, h('h1', item.title),
    h('div.player-buttons',
      button('Tracks', toggle(tracks), { kind: 'ghost', label: 'Audio and subtitles' }),
      button('Details', toggle(details), { kind: 'ghost', label: 'Playback details' })));
  mount(root, h('section.player', bar, h('div.stage', video), status, tracks, details));
  document.title = `${item.title} · Hearth`;

  let decision;
  let attached = null;
  let lastReport = -1;
  let finished = false;

  const report = (keepalive = false) => {
    if (!has('PUT', '/api/items/{id}/progress') || !Number.isFinite(video.currentTime)) return;
    const position = video.currentTime;
    if (position === lastReport || (position < 1 && !finished)) return;
    lastReport = position;
    const duration = Number.isFinite(video.duration) ? video.duration : item.duration;
    sendingProgress(put(`/api/items/${encodeURIComponent(item.id)}/progress`, { position, duration }, { keepalive }));
  };

  let attempt = 1;
  let excluded = [];
  let watchdog = null;
  let loading = false; // while a source is being attached, errors belong to the one it replaces
  const segments = query.get('segments') || undefined; // 'fmp4' or 'ts': only that HLS type

  const load = async (url, mode = 'auto') => {
    if (attached) attached.destroy();
    video.removeAttribute('src');
    const tried = attempt;
    loading = true;
    try {
      attached = await attach(video, url, {
        start, mode, onError: (err) => { if (tried === attempt) retry(err.message); },
      });
    } catch (err) {
      if (err.name === 'AbortError' || signal.aborted) return;
      await retry(err.message);
      return;
    } finally {
      loading = false;
    }
    watch(tried);
    drawDetails();
    if (attached.hls) await offerHlsSubtitles(attached.hls);
  };

  const fail = (message) => {
    mount(status, h('span.error', message));
  };

  // What the failed attempt sent as it is, in caps tokens and in words.
  const failedParts = () => {
    const sent = decision.sent || {};
    const copied = decision.method === 'direct_play' || decision.video === 'copy';
    const tokens = [];
    const words = [];
    if (sent.video && copied) {
      tokens.push(sent.video);
      words.push([CODEC_WORDS[sent.video] || sent.video.toUpperCase(), sent.video_profile].filter(Boolean).join(' '));
    }
    if (sent.audio && (decision.method === 'direct_play' || decision.audio === 'copy')) {
      tokens.push(sent.audio);
      words.push(CODEC_WORDS[sent.audio] || sent.audio.toUpperCase());
    }
    return { tokens, words };
  };

  // Ask the server again with what failed left out: first the codecs sent as they were (so
  // it converts), then the HLS segment type; after that there is nothing left to leave out.
  async function retry(problem) {
    stopWatching();
    if (signal.aborted) return;
    const { tokens, words } = failedParts();
    const segmentToken = decision.segments === 'fmp4' ? 'hls.fmp4' : 'hls.ts';
    const next = tokens.length && !tokens.every((t) => excluded.includes(t)) ? tokens : [segmentToken];
    if (attempt >= ATTEMPTS || !hlsRouteExists() || next.every((t) => excluded.includes(t))) {
      fail(`This cannot play here: ${problem}`);
      return;
    }
    attempt += 1;
    excluded = [...excluded, ...next];
    const converts = tokens === next && words.length;
    const what = converts ? words.join(' with ')
      : decision.segments === 'fmp4' ? 'fragmented-MP4 HLS' : 'MPEG-TS HLS';
    const instead = converts ? 'the server converts it instead'
      : `trying ${decision.segments === 'fmp4' ? 'MPEG-TS' : 'fragmented-MP4'} HLS instead`;
    const line = `Could not play ${what} here (${problem.replace(/\.$/, '')}); ${instead}.`;
    try {
      decision = await decide(item, video, { signal, exclude: excluded, segments });
    } catch (err) {
      if (err.name !== 'AbortError') fail(err.message);
      return;
    }
    if (decision.method === 'direct_play') decision = { ...decision, method: 'direct_stream', url: hlsUrl(item, { caps: decision.caps }) };
    start = Number.isFinite(video.currentTime) && video.currentTime > start ? video.currentTime : start;
    positioned = false;
    await load(decision.url);
    mount(status, h('span.fallback', line));
  }

  // No progress for STALL_AFTER while meant to play (not paused by the person) is a failure.
  function watch(tried) {
    stopWatching();
    const from = video.currentTime || 0;
    let waited = 0;
    watchdog = setInterval(() => {
      if (tried !== attempt) { stopWatching(); return; }
      if (video.currentTime > from + 0.3) { stopWatching(); return; }
      const meant = !video.paused || video.readyState < 2;
      waited = meant ? waited + 1000 : 0;
      if (waited >= STALL_AFTER) retry('no progress for 10 s');
    }, 1000);
  }

  function stopWatching() {
    if (watchdog) clearInterval(watchdog);
    watchdog = null;
  }

  video.addEventListener('error', async () => {
    const problem = video.error ? video.error.message || `media error ${video.error.code}` : 'unknown';
    if (!attached || loading) return;
    if (attached.mode === 'native-hls') {
      mount(status, 'Switching to the web app\'s own HLS player…');
      await load(decision.url, 'mse');
    } else {
      await retry(problem);
    }
  });

  let positioned = false;
  video.addEventListener('loadedmetadata', () => {
    const pictured = (item.streams || []).some((s) => s.kind === 'video');
    if (pictured && video.videoWidth === 0 && attempt < ATTEMPTS) {
      retry('it showed no picture');
      return;
    }
    if (!positioned && start > 0 && start < (video.duration || Infinity)) video.currentTime = start;
    positioned = true;
    video.play().catch(() => mount(status, 'Press play to start.'));
    if (start > 5 && !query.has('t')) {
      const over = button('Start over', () => { video.currentTime = 0; status.replaceChildren(); }, { kind: 'link' });
      mount(status, `Resumed at ${clock(start)}. `, over);
    }
  });
  video.addEventListener('pause', () => report());
  video.addEventListener('seeked', () => { if (!video.paused) report(); });
  video.addEventListener('timeupdate', () => {
    const duration = video.duration || item.duration;
    if (!finished && duration && video.currentTime >= duration * WATCHED_AT) {
      finished = true;
      report();
    }
  });
  video.addEventListener('ended', () => {
    report();
    playNext(query, item).catch(() => {});
  });
  video.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      event.preventDefault();
      video.currentTime = Math.max(0, video.currentTime + (event.key === 'ArrowRight' ? 10 : -10));
    } else if (event.key === ' ' || event.key === 'Enter') {
      event.preventDefault();
      if (video.paused) video.play().catch(() => {}); else video.pause();
    }
  });
  const timer = setInterval(() => { if (!video.paused) report(); }, REPORT_EVERY);
  ctx.onLeave(() => {
    clearInterval(timer);
    stopWatching();
    report(true);
    if (attached && attached.hls) endHlsSession(attached.hls.variant);
    if (attached) attached.destroy();
    video.pause();
    video.removeAttribute('src');
    video.load();
    document.title = 'Hearth';
  });

  function drawDetails() {
    const known = new Set(['method', 'reasons', 'url', 'source', 'plan', 'caps', 'sent', 'segments']);
    const extra = Object.entries(decision).filter(([key, value]) => !known.has(key)
      && value !== null && typeof value !== 'object');
    mount(details,
      h('h2', 'How this plays'),
      h('dl',
        h('dt', 'Method'), h('dd', { dataset: { method: decision.method } }, METHODS[decision.method] || decision.method),
        h('dt', 'Delivered as'), h('dd', { dataset: { mode: attached ? attached.mode : '' } }, attached ? MODES[attached.mode] : '…'),
        h('dt', 'Decided by'), h('dd', decision.source === 'server' ? 'the server'
          : decision.source === 'request' ? 'your request' : 'this browser (the server has no decision route)'),
        detailWords(extra)),
      h('h3', 'Why'),
      h('ul.reasons', (decision.reasons || []).map((reason) => h('li', reason))),
      h('p.small', h('a', { href: `#/item/${encodeURIComponent(item.id)}` }, 'About this file')));
  }

  async function offerHlsSubtitles(hls) {
    for (const sub of hls.subtitles) {
      const src = await subtitleFile(sub, signal).catch(() => null);
      if (src) {
        video.append(h('track', { kind: 'subtitles', src, label: sub.name, srclang: sub.language || undefined, default: sub.default }));
      }
    }
  }

  function drawTracks() {
    const streams = item.streams || [];
    const audio = streams.filter((s) => s.kind === 'audio');
    const texts = streams.filter((s) => s.kind === 'subtitle' && s.text_based !== false);
    const audioSelect = h('select', { name: 'audio' }, audio.map((s, i) => h('option', { value: s.index },
      [s.title, s.language, s.codec, s.channels ? `${s.channels} ch` : ''].filter(Boolean).join(' · ') || `Track ${i + 1}`)));
    const subSelect = h('select', { name: 'subtitle' }, h('option', { value: 'off' }, 'Off'),
      texts.map((s) => h('option', { value: `stream:${s.index}` }, [s.title, s.language].filter(Boolean).join(' · ') || `Subtitles ${s.index}`)));
    const reload = async (extra) => {
      start = video.currentTime;
      positioned = false;
      decision = { ...decision, method: 'direct_stream', url: hlsUrl(item, { ...extra, caps: decision.caps }), reasons: [...decision.reasons, 'A different track was chosen.'] };
      await load(decision.url);
    };
    audioSelect.addEventListener('change', () => reload({ audio: audioSelect.value }).catch((err) => fail(err.message)));
    subSelect.addEventListener('change', () => {
      const value = subSelect.value;
      for (const track of video.textTracks) track.mode = 'disabled';
      if (value.startsWith('text:')) {
        video.textTracks[Number(value.slice(5))].mode = 'showing';
      } else if (value.startsWith('stream:') && hlsRouteExists()) {
        reload({ subtitle: value.slice(7), audio: audioSelect.value || undefined }).catch((err) => fail(err.message));
      }
    });
    video.textTracks.addEventListener('addtrack', () => {
      subSelect.append(h('option', { value: `text:${video.textTracks.length - 1}` },
        video.textTracks[video.textTracks.length - 1].label || 'Subtitles'));
    });
    const canSwitch = hlsRouteExists();
    mount(tracks,
      audio.length > 1 && canSwitch ? field('Audio', audioSelect) : h('p.small', audio.length ? `Audio: ${audioSelect.options[0]?.textContent}` : 'No audio.'),
      field('Subtitles', subSelect));
  }

  // Play on TV: pick a TV (asked for when the button is pressed: TVs come and go), send the
  // item there from where this screen is, and show the remote in place of the picture.
  function offerTv() {
    if (!has('GET', '/api/renderers')) return;
    const stage = root.querySelector('.stage');
    let remote = null;
    const closeRemote = () => {
      if (remote) remote.dispose();
      remote?.remove();
      remote = null;
      stage.hidden = false;
    };
    const showRemote = (renderer) => {
      closeRemote();
      remote = tvRemote(item, renderer, { signal, onClose: () => { closeRemote(); video.focus(); } });
      stage.hidden = true;
      status.replaceChildren(); // what it said about this screen's player is moot now
      stage.after(remote);
      remote.focusFirst();
    };
    const choose = async (renderer, box) => {
      try {
        const status = await post(`/api/renderers/${encodeURIComponent(renderer.id)}/play`,
          { item_id: item.id, position: Math.floor(video.currentTime || 0) });
        video.pause();
        box.close();
        showRemote(status);
        toast(`Playing on ${renderer.name}.`);
      } catch (err) {
        toast(err.message);
      }
    };
    const pick = async () => {
      let renderers;
      try {
        renderers = await listRenderers(signal);
      } catch (err) {
        if (err.name !== 'AbortError') toast(err.message);
        return;
      }
      const list = h('ul.list.tv-list');
      const box = dialog('Play on a TV', renderers.length ? list
        : h('p', 'No TV was found on your network. Switch it on, and check it is on the same network as this server.'));
      list.append(...renderers.map((r) => h('li', button(
        [h('span', r.name), h('span.sub', [r.model, stateText(r.state)].filter(Boolean).join(' · '))],
        () => choose(r, box), { kind: 'block', dataset: { tv: r.id } }))));
      list.querySelector('button')?.focus();
    };
    const tv = button('Play on TV', pick, { kind: 'ghost', label: 'Play on TV' });
    bar.querySelector('.player-buttons').prepend(tv);
  }

  decision = await decide(item, video, { signal, segments, force: query.get('mode') === 'hls' || query.get('mode') === 'mse' ? 'hls' : null });
  drawDetails();
  drawTracks();
  offerTv();
  await load(decision.url, query.get('mode') === 'mse' ? 'mse' : 'auto');
}

async function playNext(query, item) {
  const playlistId = query.get('playlist');
  if (!playlistId) return;
  const playlist = await get(`/api/playlists/${playlistId}`);
  const pos = Number(query.get('pos') || 0);
  const next = playlist.items[pos + 1];
  if (!next || next.id === item.id) return;
  go(`/play/${encodeURIComponent(next.id)}${qs({ playlist: playlistId, pos: pos + 1, t: 0 })}`);
}
