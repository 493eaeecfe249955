// Running the box (owners and admins): libraries with live scan progress and USB drives,
// people and invites (people.js), the privacy report, and hardware, transcoding, remote access
// (the relay's public URL, as text and as a QR code made by the server) and plugins.
// Scan progress is polled once a second while this page is open, and never otherwise.

import { get, has, patch, post } from '../api.js';
import { bytes, h, mount, plural } from '../dom.js';
import { session } from '../session.js';
import { button, heading, toast } from '../ui.js';
import { facts, table, value } from './facts.js';
import { invitesTab, usersTab } from './people.js';
import { pluginKind, systemSections } from './system.js';
import { tvPanel } from './tvs.js';

const TABS = [
  ['libraries', 'Libraries', '/api/libraries'],
  ['users', 'People', '/api/users'],
  ['invites', 'Invites', '/api/invites'],
  ['privacy', 'Privacy', '/api/privacy'],
  ['system', 'System', '/api/health'],
];

export async function adminView(root, ctx) {
  const tab = ctx.params.tab || 'libraries';
  const tabs = TABS.filter(([name, , path]) => has('GET', path) && (name !== 'privacy' || session.isOwner));
  const body = h('div.tab-body');
  mount(root,
    heading('Settings'),
    h('nav.tabs', { 'aria-label': 'Settings sections' }, h('ul', tabs.map(([name, title]) => h('li',
      h('a', { href: `#/admin/${name}`, 'aria-current': name === tab ? 'page' : undefined }, title))))),
    body);
  const draw = { libraries: librariesTab, users: usersTab, invites: invitesTab, privacy: privacyTab, system: systemTab }[tab];
  if (!draw) throw Object.assign(new Error('No such settings page.'), { status: 404 });
  await draw(body, ctx);
}

function counts(library) {
  const c = library.counts || {};
  const main = { movies: 'movie', shows: 'show', music: 'track', photos: 'photo', videos: 'video' }[library.kind];
  const n = c[main] || 0;
  return plural(n, { movie: 'movie', show: 'show', track: 'track', photo: 'photo', video: 'video' }[main] || 'item');
}

function libraryRows(libraries, onScan, onTvChange) {
  return libraries.map((library) => {
    const lan = h('input', { type: 'checkbox', checked: library.lan_visible, 'aria-label': `Show ${library.name} to TVs on the network` });
    lan.addEventListener('change', async () => {
      try {
        await patch(`/api/libraries/${library.id}`, { lan_visible: lan.checked });
        toast(lan.checked ? `${library.name} is visible to TVs.` : `${library.name} is hidden from TVs.`);
        onTvChange();
      } catch (err) {
        lan.checked = !lan.checked;
        toast(err.message);
      }
    });
    return h('tr',
      h('th', { scope: 'row' }, library.name), h('td', library.kind), h('td', counts(library)),
      h('td', library.online ? 'online' : h('span.offline', 'offline')),
      h('td', lan),
      h('td', button('Scan', () => onScan(library), { label: `Scan ${library.name}` })));
  });
}

function libraryTable(libraries, onScan, onTvChange) {
  return h('div.table-wrap', h('table',
    h('thead', h('tr', ['Library', 'Kind', 'Items', 'State', 'TVs may see it', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', libraryRows(libraries, onScan, onTvChange))));
}

function scanPanel(status) {
  const current = status.current;
  const parts = [];
  if (current) {
    const total = current.to_probe || 0;
    const done = current.probed || 0;
    parts.push(h('p', h('strong', current.library), ` — ${current.state}: ${plural(current.seen, 'file')} seen, `
      + `${current.new} new, ${current.changed} changed, ${current.removed} removed`),
    h('progress', { max: total || 1, value: total ? done : 0, 'aria-label': `Scanning ${current.library}` }),
    total ? h('p.small', `${done} of ${plural(total, 'file')} read`) : null);
  } else {
    parts.push(h('p', { dataset: { scanState: 'idle' } }, 'No scan running.'));
  }
  if (status.queued && status.queued.length) parts.push(h('p.small', `Waiting: ${status.queued.join(', ')}`));
  const last = Object.values(status.last || {});
  if (last.length) {
    parts.push(h('h3', 'Last scans'), table(last.map((p) => ({
      library: p.library, state: p.state, seen: p.seen, new: p.new, changed: p.changed,
      moved: p.moved, removed: p.removed, errors: p.errors, started_at: p.started_at,
    }))));
  }
  if (status.errors && status.errors.length) {
    parts.push(h('h3', 'Files that could not be read'), table(status.errors));
  }
  if (status.artwork) parts.push(...picturesPanel(status.artwork));
  return parts;
}

// Stills the server makes for videos without artwork, after each scan (core/library/stills.py).
function picturesPanel(art) {
  const problems = art.problems || [];
  const parts = [h('h3', 'Pictures for videos without artwork')];
  if (art.state === 'idle' || art.state === 'queued') {
    parts.push(h('p.small', { dataset: { picturesState: art.state } }, art.made
      ? `Up to date: ${plural(art.made, 'picture')} made in the last run.` : 'Up to date.'));
  } else {
    const waiting = art.state === 'paused' || art.state === 'waiting';
    parts.push(h('p', { dataset: { picturesState: art.state } }, waiting
      ? `Paused: ${art.paused_because}.`
      : `${art.library}: ${art.done} of ${art.total} videos looked at${art.current ? ` (now: ${art.current})` : ''}.`),
    h('progress', { max: art.total || 1, value: art.done || 0, 'aria-label': 'Making pictures for videos' }));
  }
  if (problems.length) {
    parts.push(h('details', h('summary', `${plural(problems.length, 'video')} got no picture`), table(problems)));
  }
  return parts;
}

async function librariesTab(root, ctx) {
  const { libraries = [] } = await get('/api/libraries', { signal: ctx.signal });
  const panel = h('div.scan', { 'aria-live': 'polite' });
  const poll = async () => {
    if (!has('GET', '/api/scan')) return;
    const status = await get('/api/scan', { signal: ctx.signal });
    mount(panel, scanPanel(status));
  };
  const scan = async (library) => {
    await post('/api/scan', library ? { library: library.name } : {});
    toast(library ? `Scanning ${library.name}…` : 'Scanning every library…');
    poll().catch(() => {});
  };
  const folders = libraries.filter((l) => !String(l.source || '').startsWith('usb:'));
  const drives = libraries.filter((l) => String(l.source || '').startsWith('usb:'));
  const tvs = tvPanel(ctx);
  const tvChanged = () => tvs.refresh().catch(() => {});
  mount(root,
    tvs,
    h('section', h('h2', 'Libraries'), libraryTable(folders, scan, tvChanged),
      h('div.actions', button('Scan all libraries', () => scan(null), { kind: 'primary' }))),
    h('section', h('h2', 'USB drives'), drives.length ? libraryTable(drives, scan, tvChanged)
      : h('p.small', 'No USB drive has been plugged in yet. Plug one in and it becomes a library named after its label.')),
    h('section', h('h2', 'Scan progress'), panel));
  await Promise.all([poll(), tvChanged()]);
  const timer = setInterval(() => poll().catch(() => {}), 1000);
  ctx.onLeave(() => clearInterval(timer));
}

async function privacyTab(root, ctx) {
  const report = await get('/api/privacy', { signal: ctx.signal });
  const ledger = report.ledger || {};
  mount(root,
    h('p', 'What this box may reach on the network, what it did reach, and what it stores about each person. '
      + 'Viewing itself is never shown here, only counts.'),
    h('section', h('h2', 'What each plugin may reach'), table((report.plugins || []).map((p) => ({
      plugin: p.name || p.domain, scope: p.scope, hosts: p.hosts, reason: p.reason, enabled: p.enabled_hosts,
    })))),
    h('section', h('h2', 'Destinations you enabled'), value(report.egress)),
    sentSection(report.sent || {}),
    h('section', h('h2', `Outbound attempts (${ledger.total ?? 0})`),
      ledger.entries && ledger.entries.length ? table(ledger.entries) : h('p.small', 'Nothing has left this box.')),
    h('section', h('h2', 'Stored about each person'), table((report.people || []).map((p) => ({
      user: p.username, role: p.role, history_paused: p.history_paused, ...p.stored,
    })))),
    h('p.small', 'Your own data (export, history, deleting your account) is under ', h('a', { href: '#/account' }, 'Account'), '.'));
}

// Per plugin, what left the box in the ledger rows kept: requests, refusals, bytes each way,
// and what each purpose and host accounted for, so "what does TMDb learn" has an answer.
function sentSection(sent) {
  const plugins = Object.entries(sent);
  return h('section.sent', h('h2', 'What each plugin sent'),
    plugins.length ? h('ul', plugins.map(([plugin, s]) => h('li',
      h('strong', plugin), `: ${plural(s.requests, 'request')}, ${s.refused} refused, `
        + `${bytes(s.bytes_out)} sent, ${bytes(s.bytes_in)} received`,
      h('ul', Object.entries(s.purposes || {}).map(([purpose, n]) => h('li', `${plural(n, 'request')} for ${purpose}`))))))
      : h('p.small', 'No plugin has sent anything.'));
}

async function systemTab(root, ctx) {
  const health = await get('/api/health', { signal: ctx.signal });
  mount(root,
    systemSections(health, remoteSection(health)),
    h('section.plugins', h('h2', 'Plugins'), table((health.plugins || []).map((p) => ({
      Plugin: p.name, 'What it does': pluginKind(p.kind), State: p.state, 'Network it may reach': p.network,
      Problem: p.error || (p.detail && p.detail.egress), // an online provider says what to enable
    })), ['Plugin', 'What it does', 'State', 'Network it may reach', 'Problem'])));
  for (const row of root.querySelectorAll('.plugins tbody tr')) {
    const cell = row.children[2];
    if (cell && cell.textContent !== 'running') row.classList.add('attention');
  }
}

// The relay plugin's report: where people outside the home reach this box, and how it goes.
function remoteSection(health) {
  const relay = (health.plugins || []).find((p) => p.kind === 'relay' && p.detail && p.detail.url);
  if (!relay) return null;
  const d = relay.detail;
  const tls = health.tls || {};
  const cert = d.certificate || {}; // the public name's certificate, by ACME
  const up = d.state === 'connected';
  return h('section.remote', h('h2', 'Remote access'),
    h('p', up ? 'People you invite reach this box from outside the home at:'
      : `Remote access is ${d.state}; once it connects, people you invite reach this box at:`),
    h('p.public-url', h('code', d.url)),
    has('GET', '/api/relay/qr.svg')
      ? h('img.qr', { src: '/api/relay/qr.svg', alt: `QR code for ${d.url}`, width: 180, height: 180 }) : null,
    cert.source === 'acme' ? h('p.small.certificate',
      `The certificate for ${cert.name} is from ${cert.issuer}, valid until ${cert.not_after}: `
      + 'phones and browsers trust it, nothing to pin.')
      : tls.source === 'generated' ? h('p.small.fingerprint',
        'The certificate is this box\'s own (self-signed): a phone that pins it should trust SHA-256 ',
        h('code', tls.fingerprint_sha256), '.') : null,
    facts({
      state: d.state, since: d.since, relay: d.server,
      carried: `${bytes(d.bytes_in)} in, ${bytes(d.bytes_out)} out`,
      connections: `${d.connections} (${d.open} open now)`,
      remote_bitrate_ceiling: d.max_mbps ? `${d.max_mbps} Mbit/s` : 'none',
      last_error: d.last_error,
      certificate: cert.last_error ? `${cert.state}: ${cert.last_error}` : cert.state,
    }));
}
