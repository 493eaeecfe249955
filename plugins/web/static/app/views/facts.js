// Drawing server facts whose exact shape may grow (health, hardware, privacy report): plain
// values as text, lists of records as tables, records as definition lists. New fields show
// up without a change here.

import { h } from '../dom.js';

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

function label(key) {
  return key.replace(/_/g, ' ');
}

export function value(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string' && STAMP.test(v)) return new Date(v).toLocaleString();
  if (Array.isArray(v)) {
    if (!v.length) return '—';
    if (v.every((x) => x === null || typeof x !== 'object')) return v.map(String).join(', ');
    if (v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) return table(v);
  }
  if (typeof v === 'object') return facts(v);
  return String(v);
}

export function table(rows, columns) {
  const keys = columns || [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return h('div.table-wrap', h('table',
    h('thead', h('tr', keys.map((key) => h('th', { scope: 'col' }, label(key))))),
    h('tbody', rows.map((row) => h('tr', keys.map((key) => h('td', value(row[key]))))))));
}

export function facts(record, skip = []) {
  const entries = Object.entries(record || {}).filter(([key]) => !skip.includes(key));
  if (!entries.length) return h('p.small', 'Nothing to show.');
  return h('dl.facts', entries.map(([key, v]) => [h('dt', label(key)), h('dd', value(v))]));
}
