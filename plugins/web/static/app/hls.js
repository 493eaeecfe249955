// HLS for browsers without it built in, on Media Source Extensions: read the master and media
// playlists, append MPEG-TS segments (where the browser's MSE takes video/mp2t, as Chromium's
// does) or fMP4 segments after their EXT-X-MAP init, keep ~30 s buffered ahead, drop what is
// long played, and follow seeks. No transmuxing: a browser whose MSE takes neither gets a
// clear error. Segment times come from the playlist; if the media's own timestamps start
// elsewhere, the first segment after a jump is re-appended with a corrected offset.

const AHEAD = 30;
const BEHIND = 60;

function resolve(uri, base) {
  return new URL(uri, new URL(base, location.href)).href;
}

function attributes(line) {
  const attrs = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  let match;
  while ((match = re.exec(line))) attrs[match[1]] = match[2].replace(/^"|"$/g, '');
  return attrs;
}

/** {variant, codecs, subtitles: [{name, language, uri, default}]} or null for a media list. */
export function parseMaster(text, base) {
  if (!text.includes('#EXT-X-STREAM-INF')) return null;
  const lines = text.split(/\r?\n/);
  const subtitles = [];
  let variant = null;
  let codecs = '';
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i].trim();
    if (line.startsWith('#EXT-X-MEDIA:')) {
      const a = attributes(line);
      if (a.TYPE === 'SUBTITLES' && a.URI) {
        subtitles.push({ name: a.NAME, language: a.LANGUAGE, uri: resolve(a.URI, base), default: a.DEFAULT === 'YES' });
      }
    } else if (line.startsWith('#EXT-X-STREAM-INF:') && !variant) {
      codecs = attributes(line).CODECS || '';
      let j = i + 1;
      while (j < lines.length && (!lines[j].trim() || lines[j].startsWith('#'))) j += 1;
      if (j < lines.length) variant = resolve(lines[j].trim(), base);
    }
  }
  return { variant, codecs, subtitles };
}

/** {segments: [{uri, start, duration}], map, duration} */
export function parseMedia(text, base) {
  const segments = [];
  let map = null;
  let start = 0;
  let pending = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) {
      pending = parseFloat(line.slice(8));
    } else if (line.startsWith('#EXT-X-MAP:')) {
      map = resolve(attributes(line).URI, base);
    } else if (line && !line.startsWith('#') && pending !== null) {
      segments.push({ uri: resolve(line, base), start, duration: pending });
      start += pending;
      pending = null;
    }
  }
  return { segments, map, duration: start };
}

/** The server's own words for a refusal ("the box is busy transcoding"), else the status. */
async function refusal(response, what) {
  const body = await response.json().catch(() => null);
  const message = body && body.error && body.error.message;
  return new Error(message || `The server refused the ${what} (${response.status}).`);
}

async function text(url, signal) {
  const response = await fetch(url, { credentials: 'same-origin', signal });
  if (!response.ok) throw await refusal(response, 'playlist');
  return response.text();
}

async function data(url, signal) {
  const response = await fetch(url, { credentials: 'same-origin', signal });
  if (!response.ok) throw await refusal(response, 'video segment');
  return response.arrayBuffer();
}

export function mseAvailable() {
  return 'MediaSource' in window;
}

export class MseHls {
  constructor(video, masterUrl, { start = 0, onError = () => {} } = {}) {
    this.video = video;
    this.masterUrl = masterUrl;
    this.start = start;
    this.onError = onError;
    this.controller = new AbortController();
    this.fetching = null;
    this.next = 0;
    this.jumped = true;
    this.wake = () => {};
    this.subtitles = [];
  }

  async open() {
    const signal = this.controller.signal;
    const masterText = await text(this.masterUrl, signal);
    const master = parseMaster(masterText, this.masterUrl);
    const mediaUrl = master ? master.variant : this.masterUrl;
    const media = parseMedia(master ? await text(mediaUrl, signal) : masterText, mediaUrl);
    this.media = media;
    this.variant = master ? mediaUrl : null;
    this.subtitles = master ? master.subtitles : [];
    const codecs = (master && master.codecs) || 'avc1.64001f,mp4a.40.2';
    const mime = `${media.map ? 'video/mp4' : 'video/mp2t'}; codecs="${codecs}"`;
    if (!MediaSource.isTypeSupported(mime)) {
      throw new Error(`This browser cannot play ${media.map ? 'fMP4' : 'MPEG-TS'} HLS (${codecs}).`);
    }
    this.source = new MediaSource();
    this.url = URL.createObjectURL(this.source);
    this.video.src = this.url;
    await new Promise((ok) => this.source.addEventListener('sourceopen', ok, { once: true }));
    this.source.duration = media.duration;
    this.buffer = this.source.addSourceBuffer(mime);
    if (media.map) await this.append(await data(media.map, signal));
    this.next = this.indexAt(this.start);
    this.onSeeking = () => this.seek(this.video.currentTime);
    this.onProgress = () => this.wake();
    this.video.addEventListener('seeking', this.onSeeking);
    this.video.addEventListener('timeupdate', this.onProgress);
    this.pump().catch((err) => { if (!signal.aborted) this.onError(err); });
    return this;
  }

  indexAt(time) {
    const list = this.media.segments;
    const found = list.findIndex((s) => time < s.start + s.duration);
    return found < 0 ? list.length - 1 : found;
  }

  append(bytes) {
    return new Promise((ok, fail) => {
      const done = () => { cleanup(); ok(); };
      const error = () => { cleanup(); fail(new Error('The browser could not decode a segment.')); };
      const cleanup = () => {
        this.buffer.removeEventListener('updateend', done);
        this.buffer.removeEventListener('error', error);
      };
      this.buffer.addEventListener('updateend', done);
      this.buffer.addEventListener('error', error);
      this.buffer.appendBuffer(bytes);
    });
  }

  remove(from, to) {
    if (to <= from) return Promise.resolve();
    return new Promise((ok) => {
      this.buffer.addEventListener('updateend', ok, { once: true });
      this.buffer.remove(from, to);
    });
  }

  ahead() {
    const t = this.video.currentTime;
    const ranges = this.buffer.buffered;
    for (let i = 0; i < ranges.length; i += 1) {
      if (ranges.start(i) <= t + 0.3 && t <= ranges.end(i)) return ranges.end(i) - t;
    }
    return 0;
  }

  seek(time) {
    if (this.ahead() > 0.5) return;
    this.next = this.indexAt(time);
    this.jumped = true;
    if (this.fetching) this.fetching.abort();
    this.wake();
  }

  async pump() {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      const segments = this.media.segments;
      if (this.next >= segments.length || this.ahead() > AHEAD) {
        if (this.next >= segments.length && this.source.readyState === 'open' && !this.buffer.updating) {
          this.source.endOfStream();
        }
        await new Promise((ok) => { this.wake = ok; setTimeout(ok, 1000); });
        continue;
      }
      const segment = segments[this.next];
      this.fetching = new AbortController();
      const stop = () => this.fetching.abort();
      signal.addEventListener('abort', stop, { once: true });
      let bytes;
      try {
        bytes = await data(segment.uri, this.fetching.signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err.name === 'AbortError') continue; // a seek moved on
        throw err;
      } finally {
        signal.removeEventListener('abort', stop);
      }
      await this.evict();
      if (this.jumped) {
        await this.appendAligned(bytes, segment);
        this.jumped = false;
      } else {
        await this.append(bytes);
      }
      this.next += 1;
    }
  }

  /** After a jump, make sure the segment lands where the playlist says it starts. */
  async appendAligned(bytes, segment) {
    if (this.buffer.updating) this.buffer.abort();
    const before = this.ranges();
    await this.append(bytes);
    const added = this.ranges().find((r) => !before.some((b) => Math.abs(b[0] - r[0]) < 0.05));
    if (!added) return;
    const drift = segment.start - added[0];
    if (Math.abs(drift) < 0.25) return;
    await this.remove(added[0], added[1]);
    this.buffer.abort(); // resets the parser, which must be idle to take a new offset
    this.buffer.timestampOffset += drift;
    await this.append(bytes);
    if (this.video.currentTime < segment.start - 1 || this.video.currentTime > segment.start + segment.duration) return;
    if (this.ahead() === 0) this.video.currentTime = Math.max(this.video.currentTime, segment.start);
  }

  ranges() {
    const list = [];
    const ranges = this.buffer.buffered;
    for (let i = 0; i < ranges.length; i += 1) list.push([ranges.start(i), ranges.end(i)]);
    return list;
  }

  async evict() {
    const keepFrom = this.video.currentTime - BEHIND;
    if (keepFrom > 0 && this.buffer.buffered.length && this.buffer.buffered.start(0) < keepFrom) {
      await this.remove(0, keepFrom);
    }
  }

  destroy() {
    this.controller.abort();
    if (this.onSeeking) this.video.removeEventListener('seeking', this.onSeeking);
    if (this.onProgress) this.video.removeEventListener('timeupdate', this.onProgress);
    this.wake();
    if (this.url) URL.revokeObjectURL(this.url);
  }
}

/** The WebVTT file behind a subtitle rendition (its playlist names one file). */
export async function subtitleFile(rendition, signal) {
  const media = parseMedia(await text(rendition.uri, signal), rendition.uri);
  return media.segments.length ? media.segments[0].uri : null;
}
