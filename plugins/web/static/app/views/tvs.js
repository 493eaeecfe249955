// What TVs on the home network see without an account (DLNA): one sentence from the server,
// their rating limit (changed here), and, when a kid's limit is bypassed by every TV in the
// house, a plain warning with a one-click fix. On the Libraries settings page in full; on the
// People page only the warning. Owners and admins only (the route says so).

import { get, has, put } from '../api.js';
import { h, mount } from '../dom.js';
import { button, field, toast } from '../ui.js';

const ROUTE = '/api/settings/lan';

/** The panel; call `panel.refresh()` to (re)load it, e.g. after a library was ticked. */
export function tvPanel(ctx, { full = true } = {}) {
  const el = h('section.tvs', { 'aria-live': 'polite', dataset: { tvs: '' } });
  const set = async (rating) => {
    try {
      draw(await put(ROUTE, { max_rating: rating }));
      toast(rating ? `TVs now get nothing rated above ${rating}.` : 'TVs have no rating limit set here now.');
    } catch (err) {
      toast(err.message);
    }
  };
  const draw = (view) => {
    const warning = view.warning ? h('div.notice', { role: 'alert', dataset: { tvWarning: '' } },
      h('p', view.warning),
      button(`Limit TVs to ${view.suggested_max_rating}`, () => set(view.suggested_max_rating),
        { kind: 'primary', dataset: { tvFix: '' } })) : null;
    if (!full) {
      mount(el, warning);
      return;
    }
    const select = h('select', { name: 'tv_max_rating' }, h('option', { value: '' }, 'No limit'),
      view.ratings.map((r) => h('option', { value: r, selected: view.max_rating === r }, r)));
    select.addEventListener('change', () => set(select.value || null));
    mount(el,
      h('h2', 'TVs on your network'),
      h('p', { dataset: { tvSummary: '' } }, view.summary),
      warning,
      field('TV rating limit', select, 'TVs have no accounts: nothing rated above this reaches any of them.'),
      view.config_max_rating ? h('p.small', `The configuration file also limits TVs to ${view.config_max_rating}; `
        + 'the stricter of the two applies.') : null);
  };
  el.refresh = async () => {
    if (!has('GET', ROUTE)) {
      el.hidden = true;
      return;
    }
    draw(await get(ROUTE, { signal: ctx.signal }));
  };
  return el;
}
