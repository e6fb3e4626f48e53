// @ts-check
/**
 * The request log: `loggedFetch` is the fetch the auth client is given, so
 * every request it makes (the calls, their 401s, the refresh, the retries)
 * appears here when its answer arrives, with the token it carried.
 * Checked by `npx tsc -p sample-app/tsconfig.public.json`.
 */

/** How many entries the log keeps. */
const MAX_ENTRIES = 300;
const REFRESH_PATH = '/auth/refresh';

/** Requests sent and refreshes among them, since the page loaded. */
export const counters = { requests: 0, refreshes: 0 };

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`demo page: no #${id}`);
  return found;
}

/** @param {string} tag @param {string} className @param {string} text */
function span(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

function clock() {
  const now = new Date();
  return `${now.toLocaleTimeString('en-GB', { hour12: false })}.${String(now.getMilliseconds()).padStart(3, '0')}`;
}

/** Keeps the newest entry in view, unless the reader has scrolled up. @param {boolean} wasAtEnd */
function follow(wasAtEnd) {
  const log = element('log');
  if (wasAtEnd) log.scrollTop = log.scrollHeight;
}

function atEnd() {
  const log = element('log');
  return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
}

/** @param {HTMLLIElement} item */
function append(item) {
  const log = element('log');
  const wasAtEnd = atEnd();
  log.append(item);
  while (log.childElementCount > MAX_ENTRIES) log.firstElementChild?.remove();
  follow(wasAtEnd);
  element('counters').textContent =
    `${counters.requests} request${counters.requests === 1 ? '' : 's'}, ` +
    `${counters.refreshes} refresh${counters.refreshes === 1 ? '' : 'es'}`;
}

/**
 * A line that is not a request: what the page or the client did.
 * @param {string} text
 * @param {'info' | 'warn' | 'bad' | 'good'} [kind]
 */
export function note(text, kind = 'info') {
  const item = document.createElement('li');
  item.className = `entry note ${kind}`;
  item.append(span('span', 'time', clock()), span('span', 'text', text));
  append(item);
}

/** The last characters of a token, enough to tell two apart. @param {string} token */
export function tail(token) {
  return `…${token.slice(-6)}`;
}

/**
 * What an answer means, in a few words.
 * @param {Response} res
 * @param {string} path
 */
async function meaning(res, path) {
  /** @type {Record<string, unknown> | undefined} */
  let body;
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = await res.clone().json();
    } catch {
      body = undefined;
    }
  }
  if (!res.ok) return typeof body?.error === 'string' ? body.error : res.statusText;
  const token = typeof body?.accessToken === 'string' ? body.accessToken : undefined;
  if (path === REFRESH_PATH && token) return `rotated: access token ${tail(token)}, new cookie`;
  if (path === '/auth/login' && token) return `session started: access token ${tail(token)}, cookie set`;
  if (path.startsWith('/auth/logout')) return 'session ended, cookie cleared';
  if (path === '/auth/demo/attacker-refresh') return 'the copy rotated the session: its new tokens stay with the thief';
  const user = /** @type {{ email?: unknown } | undefined} */ (body?.user);
  if (path === '/me' && typeof user?.email === 'string') return user.email;
  return '';
}

/**
 * `fetch`, logged. Counts requests, and refreshes apart.
 * @param {string | URL | Request} input
 * @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
export async function loggedFetch(input, init) {
  const isRequest = input instanceof Request;
  const url = new URL(isRequest ? input.url : String(input), location.href);
  const method = (init?.method ?? (isRequest ? input.method : 'GET')).toUpperCase();
  const headers = new Headers(init?.headers ?? (isRequest ? input.headers : undefined));
  const bearer = /^Bearer (.+)$/.exec(headers.get('authorization') ?? '')?.[1];
  const cookieMode = headers.get('x-token-transport') === 'cookie';
  counters.requests++;
  if (url.pathname === REFRESH_PATH) counters.refreshes++;

  const item = document.createElement('li');
  item.className = 'entry request';
  const carried = bearer ? `Bearer ${tail(bearer)}` : cookieMode ? 'refresh cookie' : '';
  item.append(
    span('span', 'time', ''),
    span('code', 'what', `${method} ${url.pathname}`),
    span('span', 'carried', carried),
  );
  /** Logs the entry now, as the answer's headers arrive (its order among the others), and fills in `text` when known. */
  /** @param {string} status @param {string | Promise<string>} text @param {string} kind */
  const finish = (status, text, kind) => {
    item.firstElementChild?.replaceChildren(clock());
    item.classList.add(kind);
    const words = span('span', 'text', typeof text === 'string' ? text : '');
    item.append(span('span', 'code-status', status), words);
    append(item);
    if (typeof text !== 'string') {
      void text.then((value) => {
        const wasAtEnd = atEnd();
        words.textContent = value;
        follow(wasAtEnd);
      });
    }
  };
  try {
    const res = await fetch(input, init);
    finish(`→ ${res.status}`, meaning(res, url.pathname), res.ok ? 'good' : res.status === 401 ? 'warn' : 'bad');
    return res;
  } catch (error) {
    finish('✕', error instanceof Error && error.name === 'AbortError' ? 'timed out' : 'network error', 'bad');
    throw error;
  }
}
