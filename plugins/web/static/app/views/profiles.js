// "Who is watching?": the household's profiles on a shared device. A managed (kid's) profile
// with a PIN asks for it; switching to another adult asks for their PIN or password. The
// server enforces all of it; this only asks.

import { get, post } from '../api.js';
import { h, mount } from '../dom.js';
import { go } from '../router.js';
import { deviceName, session, signedIn, signOut } from '../session.js';
import { dialog, field, form } from '../ui.js';

export async function profilesView(root, ctx) {
  const { profiles = [] } = await get('/api/auth/profiles', { signal: ctx.signal });
  const choose = (profile) => {
    if (profile.id === session.user.id) {
      go('/');
      return;
    }
    const adult = profile.role !== 'managed';
    if (!adult && !profile.has_pin) {
      switchTo(profile, {});
      return;
    }
    const secret = h('input', {
      name: 'secret',
      type: 'password',
      required: true,
      inputmode: adult ? undefined : 'numeric',
      autocomplete: 'off',
      maxlength: adult ? undefined : 4,
    });
    const box = dialog(`Switch to ${profile.username}`, form(
      [field(adult ? 'PIN or password' : 'PIN', secret)],
      async (data) => {
        const value = data.secret || '';
        const body = /^\d{4}$/.test(value) ? { pin: value } : { password: value };
        await switchTo(profile, body);
        box.close();
      },
      'Switch',
      { label: `PIN for ${profile.username}` },
    ));
    secret.focus();
  };
  mount(root, h('section.profiles',
    h('h1', 'Who is watching?'),
    h('ul.profile-list', profiles.map((profile, i) => h('li', h('button.profile', {
      type: 'button',
      'data-autofocus': i === 0 ? true : undefined,
      dataset: { userId: profile.id },
      onclick: () => choose(profile),
    },
    h('span.avatar', { 'aria-hidden': 'true' }, profile.username.charAt(0).toUpperCase()),
    h('span.name', profile.username),
    h('span.sub', profile.role === 'managed' ? (profile.has_pin ? 'Kids · PIN' : 'Kids') : profile.role))))),
    h('p', h('button.btn.link', { type: 'button', onclick: async () => { await signOut(); go('/signin'); } },
      'Sign in as someone else'))));
}

async function switchTo(profile, secret) {
  const answer = await post('/api/auth/switch', {
    user_id: profile.id, ...secret, cookie: true, device: deviceName(),
  });
  signedIn(answer);
  go('/', { replace: true });
}
