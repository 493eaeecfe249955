// "Fix match" on an item page, for owners and admins: what online provider matched the item,
// a search of that provider (the words typed and a year are all that is sent), a result to
// pick, "use only what is on disk" (a lock: never matched again), or "match again".
// Shown only where an online metadata provider (TMDB, MusicBrainz) is set up.

import { get, has, post, qs } from '../api.js';
import { h } from '../dom.js';
import { button, dialog, toast } from '../ui.js';
import { session } from '../session.js';

const ROUTE = '/api/items/{id}/match';

function describe(match) {
  if (!match) return 'Not matched yet.';
  if (match.state === 'local') return 'Uses only what is on disk (locked).';
  if (match.state === 'matched') {
    return `Matched to ${match.match_id}${match.locked ? ' (chosen by hand)' : ''}, `
      + `${Math.round((match.confidence || 0) * 100)} % sure.`;
  }
  if (match.state === 'failed') return `Not reachable; tried again later (${match.error}).`;
  return match.error ? `No match applied: ${match.error}.` : 'Nothing found.';
}

async function change(item, body, box) {
  try {
    await post(`/api/items/${encodeURIComponent(item.id)}/match`, body);
  } catch (err) {
    toast(err.message || 'Could not change the match.');
    return;
  }
  box.close();
  toast('Saved. The page shows it once reloaded.');
}

async function open(item) {
  const id = encodeURIComponent(item.id);
  let state;
  try {
    state = await get(`/api/items/${id}/match`);
  } catch (err) {
    toast(err.message || 'Could not read the match.');
    return;
  }
  if (!state.providers.length) {
    toast('No online metadata provider is set up for this kind of item.');
    return;
  }
  const provider = state.providers[0];
  const current = state.matches.find((m) => m.provider === provider);
  const words = h('input', { type: 'search', value: item.title, 'aria-label': 'Title to search for' });
  const year = h('input', { type: 'number', value: item.year || '', 'aria-label': 'Year', min: 1800, max: 2200 });
  const results = h('ol.match-results');
  const box = dialog(`Fix match (${provider})`, h('div',
    h('p', describe(current)),
    h('form.actions', { onsubmit: async (event) => {
      event.preventDefault();
      results.replaceChildren(h('li', 'Searching…'));
      try {
        const found = await get(`/api/items/${id}/match/search${qs({ provider, q: words.value, year: year.value })}`);
        results.replaceChildren(...(found.results.length ? found.results.map((r) => h('li',
          h('strong', r.title), r.year ? ` (${r.year})` : '', ` · ${Math.round(r.confidence * 100)} %`,
          r.overview ? h('p.hint', r.overview) : null,
          button('Use this', () => change(item, { provider, match_id: r.match_id }, box))))
          : [h('li', 'Nothing found.')]));
      } catch (err) {
        results.replaceChildren(h('li', err.message || 'The search failed.'));
      }
    } }, words, year, h('button.btn.primary', { type: 'submit' }, 'Search')),
    results,
    h('div.actions',
      button('Use only what is on disk', () => change(item, { provider, local: true }, box)),
      current && current.locked ? button('Match again by itself', () => change(item, { provider, unlock: true }, box)) : null)),
  { className: 'fix-match' });
  words.focus();
}

/** The "Fix match…" button, or null for people who may not change matches. */
export function fixMatchButton(item) {
  if (!session.isAdmin || !has('POST', ROUTE)) return null;
  return button('Fix match…', () => open(item));
}
