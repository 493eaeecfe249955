// Your account on this Hearth: devices and sessions (revoke any), device keys for TVs and
// apps, app passwords for music apps, two-step verification, your PIN, and your data — export it, pause or clear your
// history, delete your account. Secrets (keys, recovery codes) are shown once, here.

import { del, get, has, post, put } from '../api.js';
import { h, mount, plural, when } from '../dom.js';
import { go } from '../router.js';
import { forget, session, signOut } from '../session.js';
import { button, confirmDialog, field, form, heading, toast } from '../ui.js';

async function sessionsSection(ctx) {
  const { sessions = [] } = await get('/api/auth/sessions', { signal: ctx.signal });
  const reload = () => go('/account', { replace: true });
  const rows = sessions.map((s) => h('tr', { dataset: { sessionId: s.id } },
    h('th', { scope: 'row' }, s.name, s.current ? h('span.badge', ' this device') : ''),
    h('td', s.kind === 'api_key' ? `device key (${s.scope})` : 'signed in'),
    h('td', s.address || ''), h('td', when(s.last_seen_at)), h('td', when(s.expires_at) || 'never'),
    h('td', s.current ? null : button('Revoke', async () => {
      await del(`/api/auth/sessions/${s.id}`);
      toast(`${s.name} is signed out.`);
      reload();
    }, { label: `Revoke ${s.name}`, dataset: { revoke: s.id } }))));
  const keyOut = h('div', { 'aria-live': 'polite' });
  return h('section', h('h2', 'Devices and sessions'),
    h('div.table-wrap', h('table',
      h('thead', h('tr', ['Device', 'Kind', 'Address', 'Last seen', 'Expires', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', rows))),
    h('div.actions', button('Sign out everywhere else', async () => {
      if (await confirmDialog('Sign out everywhere else?', 'Every other browser, app and device key of yours stops working.', 'Sign out others')) {
        await del('/api/auth/sessions');
        reload();
      }
    }, { kind: 'danger' })),
    h('details', h('summary', 'Make a device key (for a TV or an app)'), form([
      field('Name', h('input', { name: 'name', required: true, autocomplete: 'off' })),
      field('Access', h('select', { name: 'scope' }, h('option', { value: 'read' }, 'Read only'), h('option', { value: 'full' }, 'Full'))),
    ], async (data) => {
      const made = await post('/api/auth/keys', data);
      mount(keyOut, h('p', 'Enter this key on the device now; it will not be shown again:'),
        h('input.secret', { readonly: true, value: made.key, 'aria-label': 'Device key' }));
    }, 'Make key'), keyOut));
}

// Music apps (Subsonic) sign in with an app password: one per app, shown once, revocable.
// The account password never works there.
async function appPasswordsSection(ctx) {
  if (!has('GET', '/api/me/app-passwords')) return null;
  const { app_passwords: made = [] } = await get('/api/me/app-passwords', { signal: ctx.signal });
  const reload = () => go('/account', { replace: true });
  const rows = made.map((p) => h('tr', { dataset: { appPasswordId: p.id } },
    h('th', { scope: 'row' }, p.name), h('td', when(p.created_at)), h('td', when(p.last_used_at) || 'never'),
    h('td', button('Revoke', async () => {
      await del(`/api/me/app-passwords/${p.id}`);
      toast(`${p.name} can no longer sign in.`);
      reload();
    }, { label: `Revoke app password ${p.name}`, dataset: { revokeAppPassword: p.id } }))));
  const out = h('div', { 'aria-live': 'polite' });
  return h('section', h('h2', 'Music app passwords'),
    h('p.meta', 'Music apps (Symfonium, DSub, Substreamer, Feishin, Amperfy, play:Sub, Tempo) sign in with your user name and an app password made here, never your account password. Apps that support API keys can use a device key instead.'),
    rows.length ? h('div.table-wrap', h('table',
      h('thead', h('tr', ['App', 'Made', 'Last used', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', rows))) : null,
    h('details', h('summary', 'Make an app password'), form([
      field('App', h('input', { name: 'name', required: true, autocomplete: 'off' })),
    ], async (data) => {
      const fresh = await post('/api/me/app-passwords', data);
      mount(out, h('p', `Enter this password in ${fresh.name} now; it will not be shown again:`),
        h('input.secret', { readonly: true, value: fresh.password, 'aria-label': 'App password' }));
    }, 'Make app password'), out));
}

function twoStepSection() {
  const box = h('div', { 'aria-live': 'polite' });
  const enabled = session.user.totp_enabled;
  const start = async () => {
    const made = await post('/api/auth/2fa/setup', {});
    mount(box,
      h('p', 'Add this account to your authenticator app: open the link on your phone, or type the key.'),
      h('p', h('a', { href: made.uri }, 'Open in authenticator app')),
      h('p', 'Key: ', h('code.secret', made.secret)),
      form([field('Code from the app', h('input', { name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code', required: true }))],
        async (data) => {
          const done = await post('/api/auth/2fa/enable', { otp: data.otp });
          session.user = { ...session.user, totp_enabled: true };
          mount(box, h('p', 'Two-step verification is on. Keep these recovery codes somewhere safe; each works once, '
            + 'and they will not be shown again:'), h('ul.codes', done.recovery_codes.map((c) => h('li', h('code', c)))));
        }, 'Turn on'));
  };
  if (enabled) {
    mount(box, h('p', 'Two-step verification is on.'), form([
      field('Your password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' })),
    ], async (data) => {
      await post('/api/auth/2fa/disable', data);
      session.user = { ...session.user, totp_enabled: false };
      go('/account', { replace: true });
    }, 'Turn off'));
  } else {
    mount(box, h('p', 'Ask for a code from an authenticator app as well as your password.'), button('Set up', start, { kind: 'primary' }));
  }
  return h('section', h('h2', 'Two-step verification'), box);
}

function pinSection() {
  return h('section', h('h2', 'PIN'),
    h('p.small', 'A 4-digit PIN for switching to your profile on a shared device.'),
    form([field('New PIN', h('input', { name: 'pin', inputmode: 'numeric', pattern: '[0-9]{4}', maxlength: 4, required: true, autocomplete: 'off' }))],
      async (data) => {
        await put('/api/auth/pin', { pin: data.pin });
        toast('PIN saved.');
      }, 'Save PIN'));
}

async function dataSection(ctx) {
  const parts = [];
  if (has('GET', '/api/me/export')) {
    parts.push(button('Download my data', async () => {
      const data = await get('/api/me/export');
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const link = h('a', { href: url, download: `hearth-${session.user.username}.json` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }));
  }
  if (has('GET', '/api/me/history')) {
    const history = await get('/api/me/history?limit=20', { signal: ctx.signal });
    const pause = h('input', { type: 'checkbox', checked: history.paused });
    pause.addEventListener('change', async () => {
      await post('/api/me/history/pause', { paused: pause.checked });
      toast(pause.checked ? 'History paused: nothing you watch is recorded.' : 'History is recorded again.');
    });
    parts.push(h('label.check', pause, ' Pause my history (nothing I watch is recorded)'),
      h('p.small', `${plural(history.total || 0, 'viewing')} recorded.`),
      button('Clear my history', async () => {
        if (await confirmDialog('Clear your history?', 'Every viewing and resume position of yours is forgotten.', 'Clear')) {
          await del('/api/me/history');
          toast('History cleared.');
        }
      }, { kind: 'danger' }));
  }
  if (has('DELETE', '/api/me')) {
    parts.push(h('details.danger-zone', h('summary', 'Delete my account'), form([
      field('Your password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' })),
    ], async (data) => {
      if (!await confirmDialog('Delete your account?', 'Everything about you on this Hearth is deleted. This cannot be undone.', 'Delete')) return;
      await del('/api/me', { password: data.password });
      forget();
      go('/signin', { replace: true });
    }, 'Delete my account')));
  }
  return parts.length ? h('section', h('h2', 'My data'), parts) : null;
}

export async function accountView(root, ctx) {
  const user = session.user;
  const [sessions, apps, data] = await Promise.all([sessionsSection(ctx), appPasswordsSection(ctx), dataSection(ctx)]);
  mount(root,
    heading(user.username, h('a.btn', { href: '#/profiles' }, 'Switch profile'),
      button('Sign out', async () => { await signOut(); go('/signin'); })),
    h('p.meta', `Role: ${user.role}`),
    sessions,
    apps,
    twoStepSection(),
    pinSection(),
    data);
}
