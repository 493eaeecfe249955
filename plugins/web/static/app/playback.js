// How this browser plays one item: the server's playback decision (direct play, or the
// engine's HLS / progressive URL, with reasons), and attaching that source to a <video>.
// The request carries what this browser reports it decodes (`caps`, see
// core/playback/capabilities.py), so the server decides from that rather than from the
// User-Agent; a failed attempt asks again with what failed left out.
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

// caps token -> the type this browser is asked about
const VIDEO_TYPES = {
  'h264.baseline': 'video/mp4; codecs="avc1.42E01E"',
  'h264.main': 'video/mp4; codecs="avc1.4D401F"',
  'h264.high': 'video/mp4; codecs="avc1.64001F"',
  'h264.high10': 'video/mp4; codecs="avc1.6E001F"',
  'hevc.main': 'video/mp4; codecs="hvc1.1.6.L120.B0"',
  'hevc.main10': 'video/mp4; codecs="hvc1.2.4.L120.B0"',
  vp8: 'video/webm; codecs="vp8"',
  'vp9.p0': 'video/mp4; codecs="vp09.00.10.08"',
  'vp9.p2': 'video/mp4; codecs="vp09.02.10.10"',
  'av1.main': 'video/mp4; codecs="av01.0.05M.08"',
};
const AUDIO_TYPES = {
  aac: 'audio/mp4; codecs="mp4a.40.2"',
  mp3: 'audio/mpeg',
  ac3: 'audio/mp4; codecs="ac-3"',
  eac3: 'audio/mp4; codecs="ec-3"',
  opus: 'audio/mp4; codecs="opus"',
  flac: 'audio/mp4; codecs="flac"',
  vorbis: 'audio/webm; codecs="vorbis"',
  pcm: 'audio/wav',
};
// Matroska is left out: Chromium answers "maybe" and then fails on many files.
const FILE_TYPES = { 'file.mp4': 'video/mp4', 'file.webm': 'video/webm', 'file.ogg': 'video/ogg' };
const TS_PROBE = 'video/mp2t; codecs="avc1.42E01E,mp4a.40.2"';
const MP4_PROBE = 'video/mp4; codecs="avc1.42E01E,mp4a.40.2"';

function decodes(probe, type) {
  const mse = mseAvailable() && MediaSource.isTypeSupported(type);
  return mse || probe.canPlayType(type) !== '';
}

/** HLS segment types this browser plays, preferred first: Safari's own player prefers fMP4,
 * Chromium's MPEG-TS (its Media Source takes both), Firefox's Media Source only takes fMP4.
 * `segments` ('fmp4' or 'ts') keeps just that one, for a person or a test that wants it. */
function hlsTypes(probe, segments) {
  const native = probe.canPlayType('application/vnd.apple.mpegurl') !== '';
  const ts = mseAvailable() && MediaSource.isTypeSupported(TS_PROBE);
  const mp4 = mseAvailable() && MediaSource.isTypeSupported(MP4_PROBE);
  const order = native && !ts ? ['hls.fmp4', 'hls.ts']
    : [...(ts || native ? ['hls.ts'] : []), ...(mp4 || native ? ['hls.fmp4'] : [])];
  return segments ? order.filter((token) => token === `hls.${segments}`) : order;
}

/** The `caps` this browser reports, without the tokens in `exclude` (or their family:
 * 'hevc' leaves out hevc.main and hevc.main10). */
export function capabilities(probe, { exclude = [], segments } = {}) {
  const tokens = [
    ...Object.keys(VIDEO_TYPES).filter((t) => decodes(probe, VIDEO_TYPES[t])),
    ...Object.keys(AUDIO_TYPES).filter((t) => decodes(probe, AUDIO_TYPES[t])),
    ...Object.keys(FILE_TYPES).filter((t) => probe.canPlayType(FILE_TYPES[t]) !== ''),
    ...hlsTypes(probe, segments),
    ...(window.matchMedia && matchMedia('(dynamic-range: high)').matches ? ['hdr'] : []),
  ];
  return tokens.filter((t) => !exclude.some((x) => t === x || t.startsWith(`${x}.`))).join(',');
}

/** {method, reasons, url, source, caps, …the server's other fields}; `exclude` leaves caps
 * tokens out of what this browser reports (what failed on an earlier attempt). */
export async function decide(item, probe, { signal, force, exclude = [], segments } = {}) {
  const caps = capabilities(probe, { exclude, segments });
  const hls = force === 'hls' && hlsRouteExists();
  const asked = { method: 'direct_stream', url: hlsUrl(item, { caps }), reasons: ['HLS was asked for.'], source: 'request', caps };
  const path = '/api/items/{id}/playback';
  if (has('GET', path)) {
    try {
      const answer = await get(`/api/items/${encodeURIComponent(item.id)}/playback${qs({ caps })}`, { signal });
      const plan = answer.plan || answer;
      const method = answer.method || plan.method;
      const url = answer.url || (method === 'direct_play'
        ? `/api/items/${encodeURIComponent(item.id)}/stream` : hlsUrl(item, { caps }));
      const reasons = answer.reasons || plan.reasons || [];
      // Asked-for HLS keeps the server's account of what it sends, for a later fallback.
      if (hls) return { ...answer, ...asked, url: method === 'direct_play' ? asked.url : url };
      return { ...answer, method, url, reasons, source: 'server', caps };
    } catch (err) {
      if (err.name === 'AbortError' || err.status !== 404 || err.code === 'item_not_found') throw err;
    }
  }
  return hls ? asked : guess(item, probe);
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
