// Who is signed in on this device. The session itself is an HttpOnly cookie the app never
// sees; the readable CSRF cookie beside it says whether asking /api/auth/me is worthwhile.

import { csrfToken, get, post } from './api.js';

export const session = {
  user: null,
  setupNeeded: false,
  get isAdmin() {
    return Boolean(this.user && ['owner', 'admin'].includes(this.user.role));
  },
  get isOwner() {
    return Boolean(this.user && this.user.role === 'owner');
  },
};

const changes = new Set();

export function onSessionChange(listener) {
  changes.add(listener);
}

function announce() {
  for (const listener of changes) listener(session.user);
}

/** Find out, without a failing request when plainly signed out, who this device is. */
export async function restore() {
  if (csrfToken()) {
    try {
      session.user = await get('/api/auth/me');
    } catch (err) {
      if (err.status !== 401) throw err;
      session.user = null;
    }
  }
  if (!session.user) {
    try {
      const setup = await get('/api/setup');
      session.setupNeeded = Boolean(setup.needed);
    } catch (err) {
      // the first-run step is for the home network only: from outside, sign in
      if (err.status !== 403) throw err;
      session.setupNeeded = false;
    }
  }
  announce();
  return session.user;
}

/** Keep the answer of login, setup, redeem or switch: {token, user}. The token is not kept:
 * the cookie carries the session. */
export function signedIn(answer) {
  session.user = answer.user;
  session.setupNeeded = false;
  announce();
}

export function forget() {
  session.user = null;
  announce();
}

export async function signOut() {
  try {
    await post('/api/auth/logout', {});
  } finally {
    forget();
  }
}

/** A short device name for the sessions list: "Chrome on Linux". */
export function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const system = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS'
    : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows'
      : /Linux/.test(ua) ? 'Linux' : 'a device';
  return `${browser} on ${system}`;
}
