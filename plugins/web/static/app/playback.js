// How this browser plays one item: the server's playback decision (direct play, or the
// engine's HLS / progressive URL, with reasons), and attaching that source to a <video>.
// HLS goes to the browser's own player where it has one (Safari, Chromium 14x+), else to
// our MSE player (hls.js beside this file); nothing third-party is loaded.

import { del, get, has, qs } from './api.js';
import { MseHls, mseAvailable } from './hls.js';

const HLS_ROUTE = '/api/items/{id}/hls/master.m3u8';
const TYPES = { mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/mp4', webm: 'video/webm', ogv: 'video/ogg', mkv: 'video/x-matroska' };

export function hlsRouteExists() {
  return has('GET', HLS_ROUTE);
}

export function hlsUrl(item, extra = {}) {
  return `/api/items/${encodeURIComponent(item.id)}/hls/master.m3u8${qs(extra)}`;
}

/** When the server cannot decide (no decision route), guess from the file type. */
function guess(item, probe) {
  const ext = ((item.file && item.file.name) || '').split('.').pop().toLowerCase();
  const type = TYPES[ext];
  const direct = Boolean(type && probe.canPlayType(type));
  const stream = `/api/items/${encodeURIComponent(item.id)}/stream`;
  if (direct || !hlsRouteExists()) {
    return {
      method: 'direct_play',
      url: stream,
      reasons: [direct ? `This browser plays .${ext} files itself.`
        : 'This server offers no conversion; trying the file as it is.'],
      source: 'browser',
    };
  }
  return {
    method: 'direct_stream',
    url: hlsUrl(item),
    reasons: [`This browser cannot open .${ext} files; the server repackages it as HLS.`],
    source: 'browser',
  };
}

/** {method, reasons, url, source, …the server's other fields} */
export async function decide(item, probe, { signal, force } = {}) {
  if (force === 'hls' && hlsRouteExists()) {
    return { method: 'direct_stream', url: hlsUrl(item), reasons: ['HLS was asked for.'], source: 'request' };
  }
  const path = '/api/items/{id}/playback';
  if (has('GET', path)) {
    try {
      const answer = await get(`/api/items/${encodeURIComponent(item.id)}/playback`, { signal });
      const plan = answer.plan || answer;
      const method = answer.method || plan.method;
      const url = answer.url || (method === 'direct_play'
        ? `/api/items/${encodeURIComponent(item.id)}/stream` : hlsUrl(item));
      return { ...answer, method, url, reasons: answer.reasons || plan.reasons || [], source: 'server' };
    } catch (err) {
      if (err.name === 'AbortError' || err.status !== 404 || err.code === 'item_not_found') throw err;
    }
  }
  return guess(item, probe);
}

/** Attach `url` to the video; answers {mode, hls?, destroy()}. `start` in seconds. */
export async function attach(video, url, { start = 0, mode = 'auto', onError }) {
  const isHls = /\.m3u8(\?|$)/.test(url);
  if (!isHls) {
    video.src = url;
    return { mode: 'file', destroy: () => {} };
  }
  const native = video.canPlayType('application/vnd.apple.mpegurl') !== '';
  if (native && mode !== 'mse') {
    video.src = url;
    return { mode: 'native-hls', destroy: () => {} };
  }
  if (!mseAvailable()) throw new Error('This browser can play neither HLS nor Media Source video.');
  const player = new MseHls(video, url, { start, onError });
  await player.open();
  return { mode: 'mse-hls', hls: player, destroy: () => player.destroy() };
}

/** Tell the engine an HLS session is over, so ffmpeg stops now rather than at idle time.
 * `variant` is the session's media playlist URL ("…/hls/<session>/index.m3u8"). */
export function endHlsSession(variant) {
  const session = variant && variant.replace(/\/index\.m3u8(\?.*)?$/, '');
  if (!session || session === variant) return;
  del(new URL(session).pathname, undefined, { keepalive: true }).catch(() => {});
}
