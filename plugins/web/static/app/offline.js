// Downloads kept on this device for offline viewing, and the viewing done offline.
// Files live in the browser's Origin Private File System (downloads/<id>), their facts and the
// queue of positions reached offline in IndexedDB ("hearth-offline"). A file is fetched with
// Range from where it stopped and committed every few megabytes, so a broken download goes on
// from there. On each contact with the server the app asks "check my downloads": whatever the
// server says to delete (access ended) is deleted here, and a 401 (this session or device key
// was revoked) deletes every download of the person who was signed in. Nothing here decides
// who may see what: the server does, at download time and at every check.

import { ApiError, del, get, post, put } from './api.js';

const DB = 'hearth-offline';
const COMMIT_EVERY = 8 * 1024 * 1024; // bytes written before a part is committed to disk
const READY_POLL = 2000; // how often to ask whether a phone-sized version is made
const changes = new Set();
const running = new Map(); // download id -> its fetch loop, while it runs in this tab
const removed = new Set(); // deleted while its fetch loop still ran: that loop writes no more

/** Called (with no argument) whenever downloads change, for the Downloads page. */
export function onDownloadsChange(listener) {
  changes.add(listener);
  return () => changes.delete(listener);
}

function announce() {
  for (const listener of changes) listener();
}

/** Whether this browser can keep downloads: OPFS with writable files from a page (Chromium,
 * Firefox 111+, Safari 18+) and IndexedDB. Elsewhere the Download button is not shown. */
export function offlineSupported() {
  return Boolean(navigator.storage && navigator.storage.getDirectory && window.indexedDB
    && window.FileSystemFileHandle && 'createWritable' in FileSystemFileHandle.prototype);
}

let opened = null;
function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore('downloads', { keyPath: 'id' });
      request.result.createObjectStore('queue', { keyPath: 'key' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function store(name, mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    const request = work(tx.objectStore(name));
    tx.oncomplete = () => resolve(request && request.result);
    tx.onerror = () => reject(tx.error);
  });
}

const putRecord = (name, value) => store(name, 'readwrite', (s) => s.put(value));
const deleteRecord = (name, key) => store(name, 'readwrite', (s) => s.delete(key));
const allRecords = (name) => store(name, 'readonly', (s) => s.getAll());

async function folder() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle('downloads', { create: true });
}

/** This person's downloads on this device, oldest first. */
export async function downloads(userId) {
  const all = await allRecords('downloads');
  return all.filter((d) => d.user === userId).sort((a, b) => a.added - b.added);
}

/** The stored file of a download (a File backed by the disk, never read into memory). */
export async function downloadFile(id) {
  const handle = await (await folder()).getFileHandle(id);
  return handle.getFile();
}

/** Ask the server for a download of an item (a season, album: all of it) or a playlist. */
export async function download(userId, what, quality) {
  const answer = await post('/api/downloads', { ...what, quality });
  const known = new Set((await downloads(userId)).map((d) => d.id));
  for (const record of answer.downloads) {
    if (!known.has(record.id)) {
      await putRecord('downloads', {
        ...record, user: userId, added: Date.now(), received: 0, state: 'queued',
      });
    }
  }
  announce();
  resumeDownloads(userId);
  return answer.downloads;
}

/** Start (or carry on) every download of this person that is not finished. */
export async function resumeDownloads(userId) {
  for (const record of await downloads(userId)) {
    if (record.state !== 'stored' && !running.has(record.id)) {
      const loop = fetchFile(record).finally(() => running.delete(record.id));
      running.set(record.id, loop);
    }
  }
}

async function update(record, changed) {
  if (removed.has(record.id)) throw new Error('deleted');
  Object.assign(record, changed);
  await putRecord('downloads', record);
  announce();
}

async function waitUntilMade(record) {
  for (;;) {
    const shown = await get(`/api/downloads/${encodeURIComponent(record.id)}`);
    await update(record, { state: shown.state, progress: shown.progress, size: shown.size });
    if (shown.state === 'ready') return true;
    if (shown.state === 'failed') return false;
    await new Promise((resolve) => { setTimeout(resolve, READY_POLL); });
  }
}

async function fetchFile(record) {
  try {
    if (record.quality !== 'original' && !(await waitUntilMade(record))) return;
    const handle = await (await folder()).getFileHandle(record.id, { create: true });
    let received = (await handle.getFile()).size;
    await update(record, { state: 'downloading', received });
    const response = await fetch(record.url, {
      credentials: 'same-origin',
      headers: received ? { Range: `bytes=${received}-` } : {},
    });
    if (response.status === 416) received = record.size; // it was all there already
    else if (!response.ok) throw new ApiError(response.status, `http_${response.status}`, response.statusText);
    else {
      if (response.status === 200) received = 0; // the server sent it whole: start over
      const total = received + Number(response.headers.get('Content-Length') || 0);
      await update(record, { size: total || record.size });
      received = await writeBody(handle, response.body, received, (n) => update(record, { received: n }));
    }
    await update(record, { state: 'stored', received, size: received });
    await post(`/api/downloads/${encodeURIComponent(record.id)}/stored`, {}).catch(() => {});
  } catch (err) {
    if (removed.has(record.id)) return;
    if (err.status === 404) await removeDownload(record.id, { local: true });
    else await update(record, { state: 'paused', error: err.message || String(err) });
  }
}

async function writeBody(handle, body, start, onProgress) {
  const reader = body.getReader();
  let at = start;
  let writable = await handle.createWritable({ keepExistingData: true });
  await writable.truncate(at);
  await writable.seek(at);
  let sinceCommit = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await writable.write(value);
      at += value.byteLength;
      sinceCommit += value.byteLength;
      if (sinceCommit >= COMMIT_EVERY) { // keep what came so far: a break resumes from here
        await writable.close();
        writable = await handle.createWritable({ keepExistingData: true });
        await writable.seek(at);
        sinceCommit = 0;
        await onProgress(at);
      }
    }
    await writable.close();
  } catch (err) {
    await writable.close().catch(() => {});
    throw err;
  }
  return at;
}

/** Delete a download here and (unless it is already gone there) tell the server. */
export async function removeDownload(id, { local = false } = {}) {
  if (running.has(id)) removed.add(id);
  running.delete(id);
  if (!local) await del(`/api/downloads/${encodeURIComponent(id)}`).catch(() => {});
  await (await folder()).removeEntry(id).catch(() => {});
  await deleteRecord('downloads', id);
  announce();
}

/** Delete every download of one person here (their session or key was revoked). */
export async function removeAll(userId) {
  for (const record of await downloads(userId)) await removeDownload(record.id, { local: true });
}

/** Check my downloads: keep or delete each, as the server says; a 401 deletes them all.
 * Then send what was watched offline. Called on every contact (start, online, wake). */
export async function checkDownloads(userId) {
  if (!offlineSupported() || userId == null) return;
  const mine = await downloads(userId);
  if (mine.length) {
    let verdicts;
    try {
      const ids = mine.map((d) => d.id).join(',');
      verdicts = (await get(`/api/downloads/check?ids=${encodeURIComponent(ids)}`)).downloads;
    } catch (err) {
      if (err.status === 401) await removeAll(userId);
      return;
    }
    for (const record of mine) {
      if (verdicts[record.id] === 'delete') await removeDownload(record.id, { local: true });
    }
    resumeDownloads(userId);
  }
  await sendQueued(userId);
}

// -- viewing done offline

/** Remember where playback of an item is, to send it once the server can be reached. */
export async function queueProgress(userId, item, position, duration) {
  await putRecord('queue', { key: `${userId}:${item}`, user: userId, item, position, duration, at: Date.now() });
}

/** Send the queued positions of this person; each one sent (or refused for good) is dropped. */
export async function sendQueued(userId) {
  for (const entry of await allRecords('queue')) {
    if (entry.user !== userId) continue;
    try {
      await put(`/api/items/${encodeURIComponent(entry.item)}/progress`,
        { position: entry.position, duration: entry.duration });
    } catch (err) {
      if (err.status === 0 || err.status === 401) return; // not reachable: keep it for later
    }
    await deleteRecord('queue', entry.key);
  }
}

/** How much this site stores and may still store, as the browser estimates it. */
export async function space() {
  if (!navigator.storage || !navigator.storage.estimate) return null;
  const { usage, quota } = await navigator.storage.estimate();
  return { used: usage || 0, left: Math.max(0, (quota || 0) - (usage || 0)) };
}
