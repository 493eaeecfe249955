// People (owners and admins): accounts with their library grants and rating limits, kids'
// PINs, and invites — made here, shown once as a link to send, redeemable only once.

import { del, get, patch, post, put } from '../api.js';
import { h, mount, when } from '../dom.js';
import { go } from '../router.js';
import { session } from '../session.js';
import { button, confirmDialog, dialog, field, form, toast } from '../ui.js';
import { tvPanel } from './tvs.js';

const RATINGS = ['G', 'PG', 'PG-13', 'R', 'NC-17', 'TV-Y', 'TV-Y7', 'TV-G', 'TV-PG', 'TV-14', 'TV-MA'];

function ratingSelect(current) {
  return h('select', { name: 'max_rating' }, h('option', { value: '' }, 'No limit'),
    RATINGS.map((r) => h('option', { value: r, selected: current === r }, r)));
}

/** "All libraries" or a chosen few, as checkboxes. */
function libraryChoice(libraries, chosen) {
  const all = h('input', { type: 'checkbox', name: 'all_libraries', checked: chosen === null });
  const boxes = libraries.map((library) => h('label.check',
    h('input', { type: 'checkbox', name: 'library', value: library.id, checked: chosen !== null && chosen.includes(library.id) }),
    ` ${library.name}`));
  const sync = () => boxes.forEach((b) => { b.querySelector('input').disabled = all.checked; });
  all.addEventListener('change', sync);
  sync();
  const el = h('fieldset.libraries-choice', h('legend', 'Libraries'), h('label.check', all, ' All libraries, now and later'), boxes);
  el.value = () => (all.checked ? 'all' : boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => Number(i.value)));
  return el;
}

function ratingOrNull(data) {
  return data.max_rating ? data.max_rating : null;
}

async function editUser(user, libraries, done) {
  const choice = libraryChoice(libraries, user.all_libraries || ['owner', 'admin'].includes(user.role) ? null : user.libraries);
  const role = h('select', { name: 'role' }, ['member', 'managed', 'admin', ...(session.isOwner ? ['owner'] : [])]
    .map((r) => h('option', { value: r, selected: user.role === r }, r)));
  const unrated = h('select', { name: 'unrated' }, ['allow', 'block'].map((u) => h('option', { value: u, selected: user.unrated === u }, u === 'allow' ? 'Allowed' : 'Blocked')));
  const genres = h('input', { name: 'excluded_genres', value: (user.excluded_genres || []).join(', ') });
  const box = dialog(`Edit ${user.username}`, form([
    field('Role', role), choice,
    field('Highest rating', ratingSelect(user.max_rating)),
    field('Unrated items', unrated, 'Whether items without a rating are shown when a limit is set.'),
    field('Hide genres', genres, 'Comma-separated, e.g. Horror, Thriller'),
    field('New password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password' }), 'Leave empty to keep it. Changing it signs them out everywhere.'),
  ], async (data) => {
    const body = {
      role: data.role,
      libraries: choice.value(),
      max_rating: ratingOrNull(data),
      unrated: data.unrated,
      excluded_genres: data.excluded_genres.split(',').map((g) => g.trim()).filter(Boolean),
    };
    if (data.password) body.password = data.password;
    await patch(`/api/users/${user.id}`, body);
    box.close();
    toast(`${user.username} updated.`);
    done();
  }, 'Save'));
}

function setPin(user, done) {
  const box = dialog(`PIN for ${user.username}`, form([
    field('4-digit PIN', h('input', { name: 'pin', inputmode: 'numeric', pattern: '[0-9]{4}', maxlength: 4, required: true, autocomplete: 'off' })),
  ], async (data) => {
    await put(`/api/users/${user.id}/pin`, { pin: data.pin });
    box.close();
    toast(`PIN set for ${user.username}.`);
    done(); // the PIN column says "yes" at once, not after a reload
  }, 'Set PIN'));
}

export async function usersTab(root, ctx) {
  const [{ users = [] }, { libraries = [] }] = await Promise.all([
    get('/api/users', { signal: ctx.signal }), get('/api/libraries', { signal: ctx.signal })]);
  const redraw = () => go('/admin/users', { replace: true });
  const names = new Map(libraries.map((l) => [l.id, l.name]));
  const rows = users.map((user) => h('tr',
    h('th', { scope: 'row' }, user.username), h('td', user.role),
    h('td', user.all_libraries || ['owner', 'admin'].includes(user.role) ? 'All'
      : user.libraries.map((id) => names.get(id) || id).join(', ') || 'None'),
    h('td', user.max_rating || '—'), h('td', user.totp_enabled ? 'on' : 'off'), h('td', user.has_pin ? 'yes' : 'no'),
    h('td.row-actions',
      button('Edit', () => editUser(user, libraries, redraw), { label: `Edit ${user.username}` }),
      button('PIN', () => setPin(user, redraw), { label: `Set PIN for ${user.username}` }),
      user.id === session.user.id ? null : button('Delete', async () => {
        if (await confirmDialog(`Delete ${user.username}?`, 'Their account, history and playlists are deleted. This cannot be undone.', 'Delete')) {
          await del(`/api/users/${user.id}`);
          redraw();
        }
      }, { kind: 'danger', label: `Delete ${user.username}` }))));
  const choice = libraryChoice(libraries, null);
  const role = h('select', { name: 'role' }, ['member', 'managed', 'admin'].map((r) => h('option', { value: r }, r === 'managed' ? 'managed (kids)' : r)));
  const tvs = tvPanel(ctx, { full: false }); // only a warning: a kid's limit TVs bypass
  mount(root,
    tvs,
    h('section', h('h2', 'People'), h('div.table-wrap', h('table',
      h('thead', h('tr', ['Name', 'Role', 'Libraries', 'Rating limit', '2FA', 'PIN', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', rows)))),
    h('details.add', h('summary', 'Add a person'), form([
      field('Name', h('input', { name: 'username', required: true, autocomplete: 'off' })),
      field('Role', role),
      field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password' }), 'Not needed for a managed profile.'),
      choice,
      field('Highest rating', ratingSelect(null)),
    ], async (data) => {
      await post('/api/users', {
        username: data.username, role: data.role, password: data.password || undefined,
        libraries: choice.value(), max_rating: ratingOrNull(data),
      });
      toast(`${data.username} added.`);
      redraw();
    }, 'Add')));
  await tvs.refresh().catch(() => {});
}

export async function invitesTab(root, ctx) {
  const [{ invites = [] }, { libraries = [] }] = await Promise.all([
    get('/api/invites', { signal: ctx.signal }), get('/api/libraries', { signal: ctx.signal })]);
  const result = h('div.invite-result', { 'aria-live': 'polite' });
  const choice = libraryChoice(libraries, null);
  const rows = invites.map((invite) => h('tr',
    h('td', invite.role), h('td', invite.note || ''), h('td', when(invite.created_at)), h('td', when(invite.expires_at)),
    h('td', invite.used_at ? `used ${when(invite.used_at)}` : 'open'),
    h('td', invite.used_at ? null : button('Withdraw', async () => {
      await del(`/api/invites/${invite.id}`);
      go('/admin/invites', { replace: true });
    }, { label: `Withdraw invite ${invite.id}` }))));
  mount(root,
    h('section', h('h2', 'Invite someone'), form([
      field('Role', h('select', { name: 'role' }, h('option', { value: 'member' }, 'member'), h('option', { value: 'managed' }, 'managed (kids)'))),
      choice,
      field('Highest rating', ratingSelect(null)),
      field('Valid for (days)', h('input', { name: 'days', type: 'number', min: 1, max: 90, value: '7' })),
      field('Note', h('input', { name: 'note', autocomplete: 'off' }), 'For you: who it is for.'),
    ], async (data) => {
      const made = await post('/api/invites', {
        role: data.role, libraries: choice.value(), max_rating: ratingOrNull(data),
        days: Number(data.days) || 7, note: data.note || undefined,
      });
      const link = `${location.origin}${made.path}`;
      const out = h('input.invite-link', { readonly: true, value: link, 'aria-label': 'Invite link' });
      mount(result, h('p', 'Send this link. It works once, until ', when(made.expires_at), '. It will not be shown again.'),
        out, button('Copy link', async () => {
          try {
            await navigator.clipboard.writeText(link);
            toast('Link copied.');
          } catch {
            out.select();
            toast('Select the link and copy it.');
          }
        }));
      out.focus();
      out.select();
    }, 'Create invite', { label: 'Create an invite' }), result),
    h('section', h('h2', 'Invites'), invites.length ? h('div.table-wrap', h('table',
      h('thead', h('tr', ['Role', 'Note', 'Made', 'Expires', 'State', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', rows))) : h('p.small', 'No invites yet.')));
}
