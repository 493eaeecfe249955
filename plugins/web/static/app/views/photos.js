// The photo viewer: one photo at a time in a modal, Left/Right (or the buttons, or a swipe)
// for the neighbours. It shows the server's resized copy, which carries no EXIF location;
// the original file is one link away for its owner.

import { h, mount } from '../dom.js';
import { dialog } from '../ui.js';

export function openViewer(photos, start) {
  let index = start;
  const img = h('img', { alt: '' });
  const caption = h('p.caption', { 'aria-live': 'polite' });
  const original = h('a.btn', { target: '_blank', rel: 'noopener' }, 'Original');
  const prev = h('button.btn', { type: 'button', 'aria-label': 'Previous photo' }, '‹');
  const next = h('button.btn', { type: 'button', 'aria-label': 'Next photo' }, '›');
  const show = (i) => {
    index = (i + photos.length) % photos.length;
    const photo = photos[index];
    const art = photo.artwork && (photo.artwork.thumb || photo.artwork.poster);
    img.src = art ? `${art}?size=1080` : '';
    img.alt = photo.title || 'Photo';
    original.href = `/api/items/${encodeURIComponent(photo.id)}/stream`;
    mount(caption, photo.title || '', photo.taken_at ? ` · ${photo.taken_at.slice(0, 10)}` : '',
      ` · ${index + 1} of ${photos.length}`);
  };
  prev.addEventListener('click', () => show(index - 1));
  next.addEventListener('click', () => show(index + 1));
  const box = dialog('Photo', h('div.viewer-body',
    h('figure', img, h('figcaption', caption)),
    h('div.actions', prev, next, original)), { className: 'viewer' });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      event.preventDefault();
      show(index + (event.key === 'ArrowRight' ? 1 : -1));
    }
  });
  let touchX = null;
  img.addEventListener('touchstart', (event) => { touchX = event.touches[0].clientX; }, { passive: true });
  img.addEventListener('touchend', (event) => {
    if (touchX === null) return;
    const dx = event.changedTouches[0].clientX - touchX;
    if (Math.abs(dx) > 50) show(index + (dx < 0 ? 1 : -1));
    touchX = null;
  });
  show(start);
  next.focus();
}
