// Shared pieces of the interface: cards and grids with lazy, sized artwork; shelves; form
// fields with labels; toasts; modal dialogs; and the panel that explains an error plainly.

import { artwork } from './api.js';
import { clock, h, mount } from './dom.js';

const WIDE = new Set(['episode', 'video']);
const SQUARE = new Set(['artist', 'album', 'track', 'photo']);

export function shape(item) {
  return WIDE.has(item.kind) ? 'wide' : SQUARE.has(item.kind) ? 'square' : 'poster';
}

function subtitle(item) {
  if (item.kind === 'episode') {
    const number = item.index_number != null ? `E${item.index_number}` : '';
    return [item.parent_title, number].filter(Boolean).join(' · ');
  }
  if (item.kind === 'season' || item.kind === 'album') return item.artist || item.parent_title || item.year || '';
  if (item.kind === 'track') return item.artist || item.parent_title || '';
  if (item.kind === 'photo') return item.taken_at ? item.taken_at.slice(0, 10) : '';
  return item.year || '';
}

/** Sized, lazy artwork: the server snaps sizes to 160/320/480/720, so ask for those. */
export function art(item, form = shape(item), label = '') {
  const kinds = form === 'wide' ? ['thumb', 'fanart', 'poster'] : ['poster', 'thumb', 'fanart'];
  const small = artwork(item, kinds, 160);
  if (!small) {
    return h(`div.art.${form}.placeholder`, { 'aria-hidden': 'true' },
      h('span', (item.title || '?').trim().charAt(0).toUpperCase()));
  }
  const base = small.replace(/\?size=\d+$/, '');
  return h(`div.art.${form}`, h('img', {
    src: `${base}?size=320`,
    srcset: `${base}?size=160 160w, ${base}?size=320 320w, ${base}?size=480 480w`,
    sizes: '(max-width: 600px) 34vw, (max-width: 1400px) 180px, 240px',
    alt: label,
    loading: 'lazy',
    decoding: 'async',
    width: form === 'wide' ? 320 : 240,
    height: form === 'wide' ? 180 : form === 'square' ? 240 : 360,
  }));
}

/** A card linking to an item; progress (0..1) draws a bar over the artwork. */
export function card(item, { href, progress, onclick } = {}) {
  const form = shape(item);
  const picture = art(item, form);
  if (progress > 0) {
    const pct = Math.round(progress * 100);
    const fill = h('span.fill');
    fill.style.width = `${pct}%`;
    picture.append(h('span.bar', { role: 'img', 'aria-label': `${pct}% watched` }, fill));
  }
  return h(`a.card.${form}`, {
    href: href || `#/item/${encodeURIComponent(item.id)}`,
    dataset: { id: item.id, kind: item.kind },
    onclick,
  }, picture, h('span.title', item.title || 'Untitled'), h('span.sub', String(subtitle(item) || '')));
}

export function grid(items, options = {}) {
  return h('div.grid', { role: 'list' }, items.map((item) => listItem(card(item, options))));
}

function listItem(child) {
  return h('div.cell', { role: 'listitem' }, child);
}

/** A titled horizontal row of cards (Home). Empty rows are left out. */
export function shelf(title, items, options = {}) {
  if (!items || !items.length) return null;
  const id = `shelf-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section.shelf', { 'aria-labelledby': id },
    h('h2', { id }, options.link ? h('a', { href: options.link }, title) : title),
    h('div.row', { role: 'list' }, items.map((item) => listItem(card(item, {
      progress: options.progressOf ? options.progressOf(item) : 0,
      href: options.hrefOf ? options.hrefOf(item) : undefined,
    })))));
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h('div.field', h('label', { for: id }, label), input, hint ? h('small', { id: hintId }, hint) : null);
}

export function button(text, onclick, options = {}) {
  return h(`button.btn${options.kind ? `.${options.kind}` : ''}`, {
    type: options.type || 'button', onclick, 'aria-label': options.label, dataset: options.dataset,
  }, text);
}

/** A form whose submit runs `action(data)`; errors show inside it, the button waits. */
export function form(children, action, submitText, options = {}) {
  const message = h('p.form-error', { role: 'alert', hidden: true });
  const submit = h('button.btn.primary', { type: 'submit' }, submitText);
  const el = h('form.form', { novalidate: options.novalidate, 'aria-label': options.label },
    children, message, h('div.actions', submit, options.extra || null));
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hidden = true;
    submit.disabled = true;
    try {
      await action(Object.fromEntries(new FormData(el)), el);
    } catch (err) {
      if (err.name === 'AbortError') return;
      message.textContent = err.message || String(err);
      message.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return el;
}

let toastTimer = 0;
export function toast(text) {
  const box = document.getElementById('toast');
  if (!box) return;
  box.textContent = text;
  box.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove('show'), 4000);
}

/** A modal <dialog>: focus is kept inside, Escape closes it, closing removes it. */
export function dialog(title, body, { onClose, className } = {}) {
  const closer = h('button.btn.ghost.close', { type: 'button', 'aria-label': 'Close' }, '✕');
  const el = h(`dialog.modal${className ? `.${className}` : ''}`, { 'aria-label': title },
    h('header', h('h2', title), closer), body);
  closer.addEventListener('click', () => el.close());
  el.addEventListener('close', () => {
    el.remove();
    if (onClose) onClose();
  });
  document.body.append(el);
  el.showModal();
  return el;
}

export function confirmDialog(title, text, yes = 'Yes') {
  return new Promise((resolve) => {
    let answer = false;
    const ok = button(yes, () => { answer = true; box.close(); }, { kind: 'danger' });
    const no = button('Cancel', () => box.close());
    const box = dialog(title, h('div', h('p', text), h('div.actions', no, ok)), {
      onClose: () => resolve(answer),
    });
    no.focus();
  });
}

/** What went wrong, said plainly, with a way onward. */
export function problem(root, err) {
  const status = err && err.status;
  const title = status === 404 ? 'Not found'
    : status === 403 ? 'Not allowed'
      : status === 410 ? 'Not connected'
        : status === 0 ? 'Cannot reach the server' : 'Something went wrong';
  const text = status === 404
    ? 'This does not exist, or it is not available to this profile.'
    : (err && err.message) || String(err);
  mount(root, h('section.problem', { role: 'alert' },
    h('h1', title), h('p', text),
    h('p', h('a.btn', { href: '#/', 'data-autofocus': true }, 'Go home'))));
}

export function progressText(position, duration) {
  return duration ? `${clock(position)} of ${clock(duration)}` : clock(position);
}

/** A decorative symbol screen readers skip (the text beside it says it). */
export function icon(text) {
  return h('span.icon', { 'aria-hidden': 'true' }, text);
}

export function heading(text, ...extra) {
  return h('div.page-head', h('h1', text), extra.length ? h('div.head-actions', extra) : null);
}
