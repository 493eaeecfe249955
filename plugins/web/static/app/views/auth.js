// Getting in: the first-run owner step (with the setup code from the server log), signing in
// with a password and then a code from an authenticator app or a recovery code, and
// redeeming an invite link. Passwords stay in this view's memory only until the answer comes.

import { ApiError, get, post } from '../api.js';
import { h, mount } from '../dom.js';
import { go } from '../router.js';
import { deviceName, session, signedIn } from '../session.js';
import { field, form } from '../ui.js';

function input(name, options = {}) {
  return h('input', { name, required: options.required !== false, ...options });
}

async function afterSignIn(answer) {
  signedIn(answer);
  let profiles = [];
  try {
    profiles = (await get('/api/auth/profiles')).profiles || [];
  } catch {
    profiles = [];
  }
  go(profiles.some((p) => p.role === 'managed') ? '/profiles' : '/', { replace: true });
}

export async function setupView(root) {
  if (!session.setupNeeded) {
    go(session.user ? '/' : '/signin', { replace: true });
    return;
  }
  mount(root, h('section.auth',
    h('h1', 'Welcome to Hearth'),
    h('p', 'Create the owner account with the 8-digit setup code Hearth printed when it started:'),
    h('ul.setup-where',
      h('li', 'Started with scripts/run or ./hearth run: it is in that terminal, in the line “No owner account yet”.'),
      h('li', 'Running as a service (the Debian package): run ', h('code', 'journalctl -u hearth'), ' on the box to see it.')),
    h('p.small', 'Or create the owner on the box itself: ', h('code', './hearth user add NAME --role owner'), '.'),
    form([
      field('Setup code', input('code', { inputmode: 'numeric', autocomplete: 'one-time-code', 'data-autofocus': true })),
      field('Your name', input('username', { autocomplete: 'username' })),
      field('Password', input('password', { type: 'password', autocomplete: 'new-password', minlength: 8 }),
        'At least 8 characters.'),
    ], async (data) => {
      const answer = await post('/api/setup', { ...data, cookie: true, device: deviceName() });
      await afterSignIn(answer);
    }, 'Create owner account', { label: 'Owner setup' })));
}

export async function signInView(root, ctx) {
  if (session.setupNeeded) {
    go('/setup', { replace: true });
    return;
  }
  let password = null;
  const showPassword = () => {
    password = null;
    mount(root, h('section.auth',
      h('h1', 'Sign in to Hearth'),
      form([
        field('User name', input('username', { autocomplete: 'username', 'data-autofocus': true })),
        field('Password', input('password', { type: 'password', autocomplete: 'current-password' })),
      ], async (data) => {
        try {
          const answer = await post('/api/auth/login', { ...data, cookie: true, device: deviceName() });
          await afterSignIn(answer);
        } catch (err) {
          if (err instanceof ApiError && err.code === 'otp_required') {
            password = data;
            showCode(false);
            return;
          }
          throw err;
        }
      }, 'Sign in', { label: 'Sign in' }),
      h('p.hint', 'Invited? Open the invite link you were sent.')));
    root.querySelector('[data-autofocus]').focus();
  };
  const showCode = (recovery) => {
    const name = recovery ? 'recovery_code' : 'otp';
    const box = recovery
      ? input(name, { autocomplete: 'off', spellcheck: 'false', 'data-autofocus': true })
      : input(name, { inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9 ]*', 'data-autofocus': true });
    const other = h('button.btn.link', { type: 'button' },
      recovery ? 'Use the authenticator app instead' : 'Use a recovery code instead');
    other.addEventListener('click', () => showCode(!recovery));
    const back = h('button.btn.link', { type: 'button' }, 'Back');
    back.addEventListener('click', showPassword);
    mount(root, h('section.auth',
      h('h1', 'Two-step verification'),
      h('p', recovery ? 'Enter one of the recovery codes you saved. Each works once.'
        : 'Enter the 6-digit code from your authenticator app.'),
      form([field(recovery ? 'Recovery code' : 'Code', box)], async (data) => {
        const answer = await post('/api/auth/login', {
          ...password, [name]: data[name], cookie: true, device: deviceName(),
        });
        password = null;
        await afterSignIn(answer);
      }, 'Verify', { label: 'Verification code', extra: [other, back] })));
    box.focus();
  };
  ctx.onLeave(() => { password = null; });
  showPassword();
}

export async function inviteView(root, ctx) {
  const code = ctx.params.code;
  mount(root, h('section.auth',
    h('h1', 'You are invited to Hearth'),
    h('p', 'Choose a name and a password for your account.'),
    form([
      field('Your name', input('username', { autocomplete: 'username', 'data-autofocus': true })),
      field('Password', input('password', { type: 'password', autocomplete: 'new-password', minlength: 8 }),
        'At least 8 characters.'),
    ], async (data) => {
      const answer = await post('/api/invites/redeem', {
        ...data, code, cookie: true, device: deviceName(),
      });
      await afterSignIn(answer);
    }, 'Join', { label: 'Redeem invite' })));
}
