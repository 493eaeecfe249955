// The System page in words a household understands: this box (board, memory in GB, temperature,
// power), what it can convert (ffmpeg, encoders verified by a real test encode, how many videos
// at once) and what each means for playback. It reads /api/health only; field names from the
// server are never shown, and a fact the server does not report is said plainly, not as "null".

import { h } from '../dom.js';

const GB = 1e9;

/** 25276071936 -> "25.3 GB" (the decimal gigabytes shops print on the box). */
export function gigabytes(n) {
  if (typeof n !== 'number') return null;
  return `${(n / GB).toFixed(n < 10 * GB ? 1 : 0)} GB`;
}

/** 2 -> "2 videos at once", 1 -> "One video at a time", 0.5 -> "... and only a light one". */
function videos(limit) {
  if (limit >= 1.5) return `${Math.floor(limit)} videos at once`;
  if (limit >= 1) return 'One video at a time';
  return 'One video at a time, and only a light one';
}

const PLUGIN_KINDS = {
  source: 'Finds media', metadata: 'Reads titles and pictures', target: 'Serves phones and TVs',
  relay: 'Remote access', hardware: 'Buttons and devices on the box',
};

/** A plugin's kind in words: "metadata" -> "Reads titles and pictures". */
export function pluginKind(kind) {
  return PLUGIN_KINDS[kind] || String(kind || '').replace(/[_-]+/g, ' ');
}

export function uptime(seconds) {
  const s = Math.round(seconds || 0);
  if (s < 120) return 'less than 2 minutes';
  if (s < 7200) return `${Math.round(s / 60)} minutes`;
  if (s < 172800) return `${Math.round(s / 3600)} hours`;
  return `${Math.round(s / 86400)} days`;
}

/** One fact: what it is, its value, and what it means for playback. */
function fact(name, text, meaning, attrs = {}) {
  return [h('dt', name), h('dd', attrs, h('span.value', text), meaning ? h('span.meaning', meaning) : null)];
}

function boardName(board) {
  if (board.model) return board.model;
  const cpu = board.cpu_model ? `${board.cpu_model}, ` : '';
  const cores = board.cpu_cores ? `${board.cpu_cores} ${board.cpu_cores === 1 ? 'core' : 'cores'}` : '';
  return `A computer (${cpu}${cores})`.replace(' ()', '').replace(', )', ')');
}

function powerFacts(health) {
  const throttle = health.throttle;
  if (!throttle) return [];
  const now = throttle.now || {};
  const before = throttle.since_boot || {};
  if (now.under_voltage) {
    return fact('Power', 'Too low right now', 'The box slows itself down: videos that need converting may stutter. Use the board\'s own power supply.');
  }
  if (now.throttled || now.freq_capped) {
    return fact('Power and heat', 'Slowed down right now', 'It converts fewer videos at once until it cools down or gets steady power.');
  }
  if (before.under_voltage || before.throttled) {
    return fact('Power and heat', 'Fine now; slowed down earlier since it started', 'If playback stuttered earlier, check the power supply and airflow.');
  }
  return fact('Power and heat', 'Fine since it started', 'Nothing holds playback back.');
}

function boxSection(hardware) {
  if (hardware.state === 'detecting') {
    return h('section.box', h('h2', 'This box'), h('p', 'Still finding out what this box can do…'));
  }
  const board = hardware.board || {};
  const health = hardware.health || {};
  const celsius = health.cpu_celsius;
  const total = gigabytes(board.ram_total_bytes);
  const free = gigabytes(board.ram_available_bytes);
  const hot = typeof celsius === 'number' && celsius >= 80;
  return h('section.box', h('h2', 'This box'), h('dl.facts.system',
    fact('Board', boardName(board), board.is_raspberry_pi
      ? 'A Raspberry Pi: its own video hardware is used when it passes a test encode.'
      : 'Not a Raspberry Pi: converting uses what this computer offers (see Playback).'),
    total ? fact('Memory', free ? `${total} (${free} free)` : total,
      board.ram_total_bytes < 2 * GB ? 'Little memory: one video conversion at a time is best.'
        : 'Enough for browsing, scanning and converting videos.') : null,
    fact('Temperature', typeof celsius === 'number' ? `${Math.round(celsius)} °C` : 'Not reported by this box',
      typeof celsius !== 'number' ? 'Nothing to watch here.'
        : hot ? 'Hot: it converts fewer videos at once until it cools down.' : 'Cool enough: nothing is slowed down.'),
    powerFacts(health)));
}

function encoderText(encoder) {
  const kind = encoder.hardware ? 'hardware' : 'the processor';
  const codec = { h264: 'H.264', hevc: 'HEVC (H.265)' }[encoder.codec] || encoder.codec;
  return encoder.verified ? `${codec} with ${kind} (${encoder.name}): works`
    : `${codec} with ${kind} (${encoder.name}): did not pass the test${encoder.failure ? ` — ${encoder.failure}` : ''}`;
}

function playbackSection(health) {
  const hardware = health.hardware || {};
  const ffmpeg = hardware.ffmpeg;
  const encoders = hardware.encoders || [];
  const working = encoders.filter((e) => e.verified);
  const transcodes = (health.playback || {}).transcodes;
  const speed = transcodes && /([\d.]+)x real time/.exec(transcodes.source || '');
  const parts = [];
  if (hardware.state !== 'detecting') {
    parts.push(fact('Converter (ffmpeg)', ffmpeg ? `Version ${ffmpeg.version ? ffmpeg.version.raw : ''}`.trim() : 'Not installed',
      ffmpeg ? 'Files a device cannot play directly are converted while they play.'
        : 'Files a device cannot play directly will not play; install ffmpeg to convert them.'));
    parts.push(fact('Encoders tested', working.length ? h('ul.plain', encoders.map((e) => h('li', encoderText(e))))
      : 'None passed a test encode',
    hardware.software_only || !working.some((e) => e.hardware)
      ? 'No video hardware passed its test: converting uses the processor, which is slower and warmer.'
      : 'Converting uses the video hardware: quick, and the processor stays free.'));
  }
  if (transcodes) {
    const busy = transcodes.in_use > 0 ? ` (${transcodes.in_use >= 1 ? 'busy now' : 'partly busy now'})` : '';
    const slow = speed && Number(speed[1]) < 1;
    parts.push(fact('Converting at once', `${videos(transcodes.limit)}${busy}`,
      transcodes.reduced_because ? `Fewer than usual because ${transcodes.reduced_because}.`
        : slow ? `A test conversion ran at ${speed[1]}× real time: an HD video that needs converting may pause to load; playing files as they are is not affected.`
          : 'More people converting at once are asked to wait a minute or choose a lower quality.'));
  }
  return h('section.playback', h('h2', 'Playback'), parts.length ? h('dl.facts.system', parts)
    : h('p.small', 'This server does not report how it plays videos.'));
}

function serverSection(health) {
  return h('section.server', h('h2', 'Server'), h('dl.facts.system',
    fact('Name', health.name),
    fact('Version', health.version),
    fact('State', health.status === 'ok' ? 'Running normally' : `Needs attention (${health.status})`),
    fact('Running for', uptime(health.uptime_seconds))));
}

/** The page's sections, in order; `remote` is the relay's section (or null) from admin.js. */
export function systemSections(health, remote) {
  return [serverSection(health), remote, boxSection(health.hardware || {}), playbackSection(health)];
}
