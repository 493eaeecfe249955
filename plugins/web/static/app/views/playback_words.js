// The player's "How this plays" facts in words a viewer understands: the server's decision
// fields (profile, container, video, audio, online, segments...) become "Picture: sent as it
// is", "Sound: converted to AAC", never "Online true". A field this does not know yet is left
// out rather than shown as a raw name; only a drive that is away is worth saying about `online`.

import { h } from '../dom.js';

const PROFILES = {
  android: 'Android', chromium: 'Chrome / Chromium', firefox: 'Firefox', safari: 'Safari',
  lg: 'LG TV', samsung: 'Samsung TV', 'dlna-generic': 'A TV (DLNA)', 'vlc-kodi': 'VLC or Kodi',
};
const CONTAINERS = {
  file: 'the file as it is', hls: 'a stream in short pieces (HLS)', mpegts: 'one continuous stream (MPEG-TS)',
  mp4: 'an MP4 file',
};
const ACTIONS = {
  video: { copy: 'sent as it is', encode: 'converted to H.264 for this device', none: 'none in this file' },
  audio: { copy: 'sent as it is', encode: 'converted to AAC for this device', none: 'none in this file' },
};

function named(value, table) {
  return table[value] || String(value).replace(/[_-]+/g, ' ');
}

/** [key, value] pairs of the decision -> <dt>/<dd> pairs in plain words. */
export function detailWords(entries) {
  const words = [];
  for (const [key, value] of entries) {
    if (key === 'profile') words.push(['Plays as', named(value, PROFILES)]);
    else if (key === 'container') words.push(['Sent as', named(value, CONTAINERS)]);
    else if (key === 'video') words.push(['Picture', ACTIONS.video[value] || String(value)]);
    else if (key === 'audio') words.push(['Sound', ACTIONS.audio[value] || String(value)]);
    else if (key === 'online' && value === false) words.push(['File', 'on a drive that is not connected']);
  }
  return words.map(([term, text]) => [h('dt', term), h('dd', text)]);
}
