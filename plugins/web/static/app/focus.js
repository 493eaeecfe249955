// Spatial focus for TV remotes and keyboards: the arrow keys move focus to the nearest
// focusable thing in that direction (cards in a grid, buttons in a row); Escape or Backspace
// goes back. Text fields keep their own left/right keys; the player takes Left/Right to seek.

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

/** The best candidate from `from` in direction [dx, dy]: nearest along the axis, with a
 * penalty for sideways offset so a row's neighbour beats a closer card one row away. */
export function nextInDirection(from, dx, dy, candidates) {
  const a = from.getBoundingClientRect();
  const ax = a.left + a.width / 2;
  const ay = a.top + a.height / 2;
  let best = null;
  let bestScore = Infinity;
  for (const el of candidates) {
    if (el === from || el.contains(from) || from.contains(el)) continue;
    const b = el.getBoundingClientRect();
    const bx = b.left + b.width / 2;
    const by = b.top + b.height / 2;
    // must lie beyond the current element's edge in that direction
    const along = dx ? (bx - ax) * dx : (by - ay) * dy;
    const edge = dx ? (dx > 0 ? b.left >= a.right - 2 : b.right <= a.left + 2)
      : (dy > 0 ? b.top >= a.bottom - 2 : b.bottom <= a.top + 2);
    if (along <= 0 || !edge) continue;
    const across = dx ? Math.abs(by - ay) : Math.abs(bx - ax);
    const overlap = dx ? Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top)
      : Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const score = along + across * (overlap > 0 ? 0.5 : 3);
    if (score < bestScore) {
      bestScore = score;
      best = el;
    }
  }
  return best;
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
