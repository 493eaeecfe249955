// Talking to the Hearth API: JSON in and out, the session cookie, the CSRF header on every
// change, errors as ApiError with the server's code and message. Also which optional routes
// this server has (from its OpenAPI document), so the app hides a feature instead of
// calling a route that is not there.

const CSRF_COOKIE = 'hearth_csrf';
const listeners = new Set();
let routes = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function csrfToken() {
  const entry = document.cookie.split('; ').find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  return entry ? decodeURIComponent(entry.slice(CSRF_COOKIE.length + 1)) : '';
}

/** Called with the error when the server says the session is gone (revoked or expired). */
export function onSignedOut(listener) {
  listeners.add(listener);
}

export async function api(path, { method = 'GET', body, signal, keepalive } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!['GET', 'HEAD'].includes(method)) {
    const token = csrfToken();
    if (token) headers['X-Hearth-CSRF'] = token;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
      keepalive,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'offline', 'The server cannot be reached. Is the box switched on?');
  }
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const detail = (data && data.error) || {};
    const error = new ApiError(
      response.status,
      detail.code || `http_${response.status}`,
      detail.message || response.statusText || 'Something went wrong.',
    );
    if (response.status === 401 && error.code === 'unauthorized') {
      for (const listener of listeners) listener(error);
    }
    throw error;
  }
  return data ?? {};
}

export const get = (path, options) => api(path, options);
export const post = (path, body, options) => api(path, { ...options, method: 'POST', body });
export const put = (path, body, options) => api(path, { ...options, method: 'PUT', body });
export const patch = (path, body, options) => api(path, { ...options, method: 'PATCH', body });
export const del = (path, body, options) => api(path, { ...options, method: 'DELETE', body });

/** Learn the server's routes once, after sign-in (the document is for signed-in people).
 * Callers at the same time share one request; a failed one is tried again next time. */
let loading = null;
export function loadRoutes() {
  if (routes) return Promise.resolve(routes);
  loading ??= api('/api/openapi.json').then((doc) => {
    const found = new Set();
    for (const [path, methods] of Object.entries(doc.paths || {})) {
      for (const method of Object.keys(methods)) found.add(`${method.toUpperCase()} ${path}`);
    }
    routes = found;
    return routes;
  }).catch(() => null).finally(() => { loading = null; });
  return loading;
}

/** Whether this server offers a route, e.g. has('GET', '/api/me/continue').
 * Unknown (no OpenAPI document) counts as present: the call itself will say. */
export function has(method, path) {
  return routes === null || routes.has(`${method} ${path}`);
}

/** Query string from an object, leaving out empty values. */
export function qs(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Sized artwork URL for an item summary, or null when it has none of these kinds. */
export function artwork(item, kinds = ['poster', 'thumb', 'fanart'], size = 320) {
  for (const kind of kinds) {
    if (item.artwork && item.artwork[kind]) return `${item.artwork[kind]}?size=${size}`;
  }
  return null;
}
