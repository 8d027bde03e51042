// gatehouse.js: a small client for the Gatehouse JSON API, for pages served
// from the same origin as Gatehouse (its own pages, or a web app behind the
// same reverse proxy).
//
//   import { createClient } from '/assets/gatehouse.js';
//   const gh = createClient();
//   gh.onLoggedOut(() => location.assign('/login?next=' + encodeURIComponent(location.pathname)));
//   const { user } = await gh.me();
//   const data = await gh.get('/api/protected');
//
// The tokens live in HttpOnly cookies that this script can neither read nor
// write; every call sends them with credentials: 'same-origin'. When a call
// gets 401 (the access token expired), the client refreshes the session once
// (POST /auth/refresh) and retries the call. Calls that fail at the same time
// share one refresh. When the refresh fails too, the session is over: the
// call rejects with LoggedOutError and the onLoggedOut listeners run.

/** ApiError is what a failed call rejects with. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {object|null} problem the problem+json body, if any
   * @param {{retryAfter?: number|null, kind?: string, cause?: unknown}} [opts]
   */
  constructor(status, problem, opts = {}) {
    super(problem?.title || (status ? `HTTP ${status}` : 'network error'), { cause: opts.cause });
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem || null;
    // kind is 'http' for an answer from the server, 'network' when there
    // was none, and 'logged-out' when the session has ended.
    this.kind = opts.kind || 'http';
    // retryAfter is the Retry-After header in seconds (429 and 503), or null.
    this.retryAfter = opts.retryAfter ?? null;
  }

  /** type is the problem type without its urn prefix, such as "invalid-credentials". */
  get type() {
    const t = this.problem?.type || '';
    return t.startsWith('urn:gatehouse:problem:') ? t.slice('urn:gatehouse:problem:'.length) : t;
  }
}

/** LoggedOutError means the session has ended: log in again. */
export class LoggedOutError extends ApiError {
  constructor() {
    super(401, null, { kind: 'logged-out' });
    this.name = 'LoggedOutError';
    this.message = 'logged out';
  }
}

const MAX_NEXT = 2048;
// Control characters, white space as Go's unicode.IsSpace defines it, and the
// backslash. Mirrors safePath in web/next.go.
const UNSAFE = /[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]/;

function safePath(s) {
  return s.startsWith('/') && !s.startsWith('//') && !UNSAFE.test(s);
}

/**
 * sameOriginPath reports whether s is a path on this origin: one leading
 * "/", not "//" or "/\", no scheme, no backslash, control character or
 * white space in it or in any percent-decoding of it. It mirrors SafeNext
 * in web/next.go, and guards both where the login page navigates and where
 * the client sends the session's cookies.
 * @param {unknown} s
 */
function sameOriginPath(s) {
  if (typeof s !== 'string' || s === '' || s.length > MAX_NEXT) return false;
  let p = s;
  for (let i = 0; ; i++) {
    if (!safePath(p)) return false;
    let dec;
    try {
      dec = decodeURIComponent(p);
    } catch {
      return false;
    }
    if (dec === p) break;
    if (i === 3) return false;
    p = dec;
  }
  try {
    return new URL(s, location.origin).origin === location.origin;
  } catch {
    return false;
  }
}

/**
 * safeNext returns next when it is a path on this origin that is safe to
 * navigate to after login (sameOriginPath), and fallback otherwise.
 * @param {string|null|undefined} next
 * @param {string} [fallback]
 */
export function safeNext(next, fallback = '/account') {
  return sameOriginPath(next) ? next : fallback;
}

/**
 * sameOriginRequest reports whether s may be fetched with the session's
 * cookies: its path, up to "?" or "#", passes sameOriginPath, and the rest
 * holds no raw control character, white space or backslash (the URL parser
 * drops tabs and newlines anywhere and reads "\" as "/" in a path). Without it,
 * "/\evil.example/x" starts with one "/" but is fetched from another host,
 * which would get the request and its body. The query may hold encoded
 * white space ("?q=a%20b"): the URL parser never decodes it.
 * @param {unknown} s
 */
function sameOriginRequest(s) {
  if (typeof s !== 'string') return false;
  const cut = s.search(/[?#]/);
  const path = cut < 0 ? s : s.slice(0, cut);
  if (!sameOriginPath(path) || UNSAFE.test(s.slice(path.length))) return false;
  try {
    return new URL(s, location.origin).origin === location.origin;
  } catch {
    return false;
  }
}

function retryAfterSeconds(h) {
  if (!h) return null;
  const n = Number(h);
  if (Number.isFinite(n) && n >= 0) return n;
  const t = Date.parse(h);
  return Number.isNaN(t) ? null : Math.max(0, Math.round((t - Date.now()) / 1000));
}

/**
 * createClient returns a client for the Gatehouse API on this origin.
 * @param {{fetch?: typeof fetch}} [options] fetch replaces the global fetch (for tests)
 */
export function createClient(options = {}) {
  const doFetch = options.fetch || ((url, init) => globalThis.fetch(url, init));
  const listeners = new Set();
  let refreshing = null; // the refresh in flight, shared by every caller
  let generation = 0; // refreshes completed so far

  async function send(method, path, body) {
    const init = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
      headers: { Accept: 'application/json' },
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    try {
      return await doFetch(path, init);
    } catch (cause) {
      throw new ApiError(0, null, { kind: 'network', cause });
    }
  }

  async function read(res) {
    let data = null;
    if (res.status !== 204 && /json/.test(res.headers.get('Content-Type') || '')) {
      try {
        data = await res.json();
      } catch {
        data = null;
      }
    }
    if (res.ok) return data;
    throw new ApiError(res.status, data, { retryAfter: retryAfterSeconds(res.headers.get('Retry-After')) });
  }

  function loggedOut() {
    for (const fn of listeners) {
      try {
        fn();
      } catch (e) {
        console.error(e);
      }
    }
  }

  /**
   * refresh rotates the session's tokens. Concurrent callers share one
   * request. It resolves true when the session was refreshed and false when
   * it has ended; it rejects with ApiError when the server cannot answer.
   */
  function refresh() {
    if (!refreshing) {
      refreshing = (async () => {
        try {
          const res = await send('POST', '/auth/refresh');
          if (res.ok) {
            generation++;
            return true;
          }
          if (res.status === 401) return false;
          await read(res); // throws the ApiError
          return false;
        } finally {
          refreshing = null;
        }
      })();
    }
    return refreshing;
  }

  /**
   * request calls the API with the session's cookies and returns the JSON
   * body (null for 204). A 401 triggers one refresh and one retry.
   * @param {string} method
   * @param {string} path a path on this origin, such as "/auth/me"
   *   (sameOriginRequest)
   * @param {unknown} [body] sent as JSON
   */
  async function request(method, path, body) {
    if (!sameOriginRequest(path)) {
      throw new TypeError('gatehouse: path must be a path on this origin');
    }
    const seen = generation;
    let res = await send(method, path, body);
    if (res.status === 401) {
      // Another call may have refreshed while this one was in flight; then
      // the new cookie is already there and a retry is enough.
      const ok = generation !== seen || (await refresh());
      if (ok) res = await send(method, path, body);
      if (!ok || res.status === 401) {
        loggedOut();
        throw new LoggedOutError();
      }
    }
    return read(res);
  }

  // credential calls a route that takes or ends credentials: a 401 there is
  // an answer (wrong password), not an expired token to refresh.
  async function credential(method, path, body) {
    return read(await send(method, path, body));
  }

  return {
    request,
    refresh,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    patch: (path, body) => request('PATCH', path, body),
    delete: (path) => request('DELETE', path),

    /** register creates an account and logs in: {user, session}. */
    register: (email, password) => credential('POST', '/auth/register', { email, password }),
    /** login: {user, session}; ApiError 401 for wrong credentials, 429 when throttled. */
    login: (email, password) => credential('POST', '/auth/login', { email, password }),
    /** logout ends this device's session and clears the cookies. */
    logout: () => credential('POST', '/auth/logout'),
    /** logoutAll ends every session of the user, this one included. */
    logoutAll: () => request('POST', '/auth/logout-all'),
    /** me: {user, session}. */
    me: () => request('GET', '/auth/me'),
    /** setDisplayName: {user}. */
    setDisplayName: (displayName) => request('PATCH', '/auth/me', { display_name: displayName }),
    /** sessions: {sessions: [{id, created_at, last_used_at, expires_at, user_agent, current}]}. */
    sessions: () => request('GET', '/auth/sessions'),
    /** revokeSession ends one of the user's sessions (this one too, if it is its id). */
    revokeSession: (id) => request('DELETE', '/auth/sessions/' + encodeURIComponent(id)),
    /** changePassword ends every other session and renews this one's cookies. */
    changePassword: (current, next) =>
      request('POST', '/auth/password', { current_password: current, new_password: next }),

    /** onLoggedOut registers fn to run when the session is found to be over; it returns a function that removes it. */
    onLoggedOut(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
