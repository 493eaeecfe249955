// Spatial focus for TV remotes and keyboards: the arrow keys move focus to the nearest
// focusable thing in that direction by the boxes on screen (cards across shelves and grids,
// buttons in a row); Escape or Backspace goes back. Text fields keep their own left/right
// keys; the player takes Left/Right to seek.

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), '
  + 'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"]), '
  + 'video[controls], audio[controls], summary';
const DIRECTIONS = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
const TEXT_TYPES = /^(text|search|password|email|number|url|tel)$/;

function visible(el) {
  if (el.closest('[hidden], [inert]')) return false;
  const box = el.getBoundingClientRect();
  return box.width > 0 && box.height > 0;
}

function scope() {
  const dialogs = [...document.querySelectorAll('dialog[open]')];
  return dialogs.length ? dialogs[dialogs.length - 1] : document;
}

// From a card, arrows move between cards first (shelves and grids, like a TV's home screen);
// a shelf's title link or a button is reached only where no card lies that way.
const CARDS = '.card';

function beyond(a, b, dx, dy) {
  if (dx > 0) return b.left >= a.right - 2;
  if (dx < 0) return b.right <= a.left + 2;
  if (dy > 0) return b.top >= a.bottom - 2;
  return b.bottom <= a.top + 2;
}

/** Distance from a's edge to b's facing edge in the direction pressed (0 when touching). */
function along(a, b, dx, dy) {
  const gap = dx > 0 ? b.left - a.right : dx < 0 ? a.left - b.right
    : dy > 0 ? b.top - a.bottom : a.top - b.bottom;
  return Math.max(0, gap);
}

/** Gap between the two boxes across the direction (0 when they overlap that way). */
function across(a, b, dx) {
  return dx ? Math.max(0, b.top - a.bottom, a.top - b.bottom)
    : Math.max(0, b.left - a.right, a.left - b.right);
}

function centreOffset(a, b, dx) {
  return dx ? Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2)
    : Math.abs((a.left + a.right) / 2 - (b.left + b.right) / 2);
}

function pick(a, dx, dy, boxes) {
  if (!boxes.length) return null;
  // the nearest line of things that way (the next shelf, the next grid row, the next column)
  const nearest = Math.min(...boxes.map(({ box }) => along(a, box, dx, dy)));
  const first = boxes.find(({ box }) => along(a, box, dx, dy) === nearest).box;
  const size = dx ? Math.min(a.width, first.width) : Math.min(a.height, first.height);
  const line = boxes.filter(({ box }) => along(a, box, dx, dy) <= nearest + size / 2);
  // ... and in it the one most in line with where focus is now
  line.sort((p, q) => across(a, p.box, dx) - across(a, q.box, dx)
    || centreOffset(a, p.box, dx) - centreOffset(a, q.box, dx));
  return line[0].el;
}

/** The element focus moves to from `from` in direction [dx, dy], or null: the nearest line of
 * elements beyond its edge, and in that line the one best aligned with it. Sideways moves stay
 * in their row (they need a vertical overlap) so the end of a short shelf does not leap into
 * another; up and down go to the next shelf or row even when it is shorter. */
export function nextInDirection(from, dx, dy, candidates) {
  const a = from.getBoundingClientRect();
  let boxes = candidates
    .filter((el) => el !== from && !el.contains(from) && !from.contains(el))
    .map((el) => ({ el, box: el.getBoundingClientRect() }))
    .filter(({ box }) => beyond(a, box, dx, dy));
  if (dx) {
    const inRow = boxes.filter(({ box }) => across(a, box, dx) === 0);
    if (inRow.length || from.matches(CARDS)) boxes = inRow;
  }
  if (from.matches(CARDS)) {
    const cards = boxes.filter(({ el }) => el.matches(CARDS));
    if (cards.length) boxes = cards;
  }
  return pick(a, dx, dy, boxes);
}

function keepsArrows(el, key) {
  if (!el || el === document.body) return false;
  if (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
  if (el.tagName === 'INPUT') {
    if (el.type === 'range') return key === 'ArrowLeft' || key === 'ArrowRight';
    if (TEXT_TYPES.test(el.type)) return key === 'ArrowLeft' || key === 'ArrowRight';
  }
  return false;
}

function typing(el) {
  return el && (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT'
    || (el.tagName === 'INPUT' && TEXT_TYPES.test(el.type)) || el.isContentEditable);
}

export function installSpatialFocus({ back }) {
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const active = document.activeElement;
    const direction = DIRECTIONS[event.key];
    if (direction) {
      if (keepsArrows(active, event.key)) return;
      const root = scope();
      const candidates = [...root.querySelectorAll(FOCUSABLE)].filter(visible);
      const from = active && active !== document.body && root.contains(active) ? active : null;
      const target = from ? nextInDirection(from, ...direction, candidates) : candidates[0];
      if (target) {
        event.preventDefault();
        target.focus({ preventScroll: true });
        target.scrollIntoView({ block: 'nearest', inline: 'nearest', behavior: 'smooth' });
      }
      return;
    }
    const goesBack = event.key === 'BrowserBack' || event.key === 'GoBack'
      || (event.key === 'Backspace' && !typing(active))
      || (event.key === 'Escape' && !document.querySelector('dialog[open]') && !typing(active));
    if (goesBack) {
      event.preventDefault();
      back();
    }
  });
}
