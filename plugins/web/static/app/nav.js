// The main navigation: one row of links where they fit (a laptop, a TV); where they do not (a
// phone), Search stays on screen beside a Menu button that opens every link — libraries,
// Playlists, Settings, the account — in a panel, one tap away. Whether they fit is measured, not
// guessed from a breakpoint, so a household with many libraries gets the menu sooner.
// The menu closes when a link is followed, on Escape (which then does not also go back), and
// on a tap outside it.

import { h, mount } from './dom.js';

let installed = false;

function setOpen(nav, open) {
  nav.classList.toggle('open', open);
  const button = nav.querySelector('.menu-button');
  if (button) button.setAttribute('aria-expanded', String(open));
}

/** Compact when the links would not fit on one row; measured with every link in place. */
export function fitNav(nav = document.getElementById('nav')) {
  const list = nav && nav.querySelector('ul');
  if (!list) return;
  const wasOpen = nav.classList.contains('open');
  nav.classList.remove('compact', 'open');
  const overflows = list.scrollWidth > list.clientWidth + 1;
  nav.classList.toggle('compact', overflows);
  setOpen(nav, overflows && wasOpen);
}

function install(nav) {
  if (installed) return;
  installed = true;
  window.addEventListener('resize', () => fitNav(nav));
  // a web font arriving late widens the links: measure again then
  if (document.fonts) document.fonts.ready.then(() => fitNav(nav)).catch(() => {});
  window.addEventListener('hashchange', () => setOpen(nav, false));
  // capture, before focus.js: Escape closes the menu instead of going back a page
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !nav.classList.contains('open')) return;
    event.preventDefault();
    setOpen(nav, false);
    nav.querySelector('.menu-button').focus();
  }, true);
  document.addEventListener('click', (event) => {
    if (nav.classList.contains('open') && !nav.contains(event.target)) setOpen(nav, false);
  });
}

/** Draw the links (`h('li', …)` elements); `search` is the Search link's address. */
export function mountNav(nav, items, search = '#/search') {
  install(nav);
  const button = h('button.menu-button.btn.ghost', {
    type: 'button', 'aria-expanded': 'false', 'aria-controls': 'nav-list',
  }, h('span.burger', { 'aria-hidden': 'true' }, '☰'), ' Menu');
  button.addEventListener('click', () => {
    const open = !nav.classList.contains('open');
    setOpen(nav, open);
    if (open) {
      const first = nav.querySelector('#nav-list a');
      if (first) first.focus();
    }
  });
  mount(nav,
    h('a.quick', { href: search }, 'Search'),
    button,
    h('ul', { id: 'nav-list' }, items));
  fitNav(nav);
}
