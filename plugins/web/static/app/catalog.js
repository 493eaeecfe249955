// Reading the catalog the way several pages need it: an item's children, and the signed-in
// person's progress on a set of items (empty when the server keeps no watch progress).
// Progress the player is still sending is waited for, so a page opened right after leaving
// the player already offers "Resume".

import { get, has, qs } from './api.js';

export async function children(id, signal, sort = 'index') {
  const page = await get(`/api/items${qs({ parent: id, sort, limit: 500 })}`, { signal });
  return page.items || [];
}

const sending = new Set();

/** Remember a progress report in flight until it settles. */
export function sendingProgress(promise) {
  const settled = promise.catch(() => {}).finally(() => sending.delete(settled));
  sending.add(settled);
  return settled;
}

export async function progressOf(ids, signal) {
  if (!ids.length || !has('GET', '/api/me/progress')) return {};
  await Promise.all([...sending]);
  try {
    const answer = await get(`/api/me/progress${qs({ ids: ids.join(',') })}`, { signal });
    return answer.progress || {};
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    return {};
  }
}
