// @ts-check
/**
 * The demo page: express-token-pair/client in cookie mode (the default), its
 * every request logged. The client is served by the sample app at
 * /client/*.js, transpiled from lib/client/*.ts (see demo-page.ts).
 */
import { AuthClientError, createAuthClient } from './client/index.js';
import { counters, loggedFetch, note, tail } from './request-log.js';
import { clearToken, decode, showToken } from './token-view.js';

/**
 * Set while this browser may hold a refresh cookie, so that a reload asks
 * for a new access token; not a secret (the cookie itself is HttpOnly).
 */
const HINT = 'etp-demo:maybe-signed-in';

/** Why a session ended, for people. */
const ENDINGS = /** @type {Record<string, string>} */ ({
  logout: 'You logged out.',
  refresh_reused: "Session revoked: a refresh token was used twice (refresh_reused). The thief's copy is dead too.",
  token_revoked: 'The session has ended (token_revoked): logged out, here or on another device.',
  token_expired: 'The session has expired.',
  token_missing: 'No session in this browser.',
});

/** What a failed login or registration means, for people. */
const FAILURES = /** @type {Record<string, string>} */ ({
  invalid_credentials: 'Email or password is incorrect.',
  email_taken: 'An account with this email already exists: log in instead.',
  invalid_request: 'Check the email, and a password of 8 characters or more.',
  rate_limited: 'Too many attempts: wait a minute.',
  csrf_rejected: 'Refused: this page is not served from an origin the server allows (PUBLIC_ORIGIN).',
});

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`demo page: no #${id}`);
  return found;
}

const client = createAuthClient({
  refreshUrl: '/auth/refresh',
  logoutUrl: '/auth/logout',
  logoutAllUrl: '/auth/logout-all',
  fetch: loggedFetch,
});

/** @param {boolean} on @param {string} text */
function showSession(on, text) {
  const status = element('status');
  status.textContent = text;
  status.dataset.session = on ? 'on' : 'off';
  for (const button of document.querySelectorAll('button[data-needs-session]')) {
    /** @type {HTMLButtonElement} */ (button).disabled = !on;
  }
}

client.on('token', ({ accessToken, expiresAt, source }) => {
  localStorage.setItem(HINT, '1');
  const { payload } = decode(accessToken);
  showSession(true, `Signed in as ${String(payload.email)}.`);
  showToken(accessToken, expiresAt);
  if (source === 'tab')
    note(
      `Another tab refreshed: this one takes its access token ${tail(accessToken)}, with no request of its own.`,
      'good',
    );
});

client.on('sessionended', ({ reason, otherTab }) => {
  localStorage.removeItem(HINT);
  clearToken();
  const text = ENDINGS[reason] ?? `The session has ended (${reason}).`;
  showSession(false, `Signed out. ${text}`);
  note(`${otherTab ? 'Another tab learnt it first: ' : ''}${text}`, reason === 'logout' ? 'info' : 'bad');
});

/** Runs a button's work, reporting a failure that is not a 401 (those end the session, above). @param {() => Promise<void>} work */
async function attempt(work) {
  try {
    await work();
  } catch (error) {
    const message =
      error instanceof AuthClientError
        ? `${error.code}${error.serverCode ? ` (${error.serverCode})` : ''}`
        : String(error);
    note(`Failed: ${message}`, 'bad');
  }
}

/** @param {number} ms */
const sleep = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

// Register and Log in share the form; the button pressed decides.
element('credentials').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const action = /** @type {HTMLButtonElement | null} */ (event.submitter)?.value ?? 'login';
  const email = /** @type {HTMLInputElement} */ (form.elements.namedItem('email')).value;
  const passwordField = /** @type {HTMLInputElement} */ (form.elements.namedItem('password'));
  const failed = element('form-error');
  failed.textContent = '';
  void (async () => {
    try {
      const credentials = { email, password: passwordField.value };
      if (action === 'register') {
        const res = await loggedFetch('/auth/register', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(credentials),
        });
        if (!res.ok) {
          const body = /** @type {{ error?: string }} */ (await res.json().catch(() => ({})));
          failed.textContent = FAILURES[body.error ?? ''] ?? `Registration failed (${res.status}).`;
          return;
        }
      }
      await client.login('/auth/login', credentials);
      passwordField.value = '';
    } catch (error) {
      const code = error instanceof AuthClientError ? (error.serverCode ?? error.code) : 'network';
      failed.textContent = FAILURES[code] ?? `Log in failed (${code}).`;
    }
  })();
});

element('call-me').addEventListener('click', () => {
  void attempt(async () => {
    await client.fetch('/me');
  });
});

element('call-me-10').addEventListener('click', () => {
  void attempt(async () => {
    note('Call /me ×10: ten calls at once.');
    const before = { ...counters };
    const answers = await Promise.allSettled(Array.from({ length: 10 }, () => client.fetch('/me')));
    const ok = answers.filter((answer) => answer.status === 'fulfilled' && answer.value.status === 200).length;
    const requests = counters.requests - before.requests;
    const refreshes = counters.refreshes - before.refreshes;
    const batch = element('batch');
    Object.assign(batch.dataset, { ok: String(ok), requests: String(requests), refreshes: String(refreshes) });
    batch.textContent = `10 calls: ${ok} answered 200, in ${requests} requests with ${refreshes} refresh${refreshes === 1 ? '' : 'es'}.`;
    note(batch.textContent, ok === 10 ? 'good' : 'bad');
  });
});

element('replay').addEventListener('click', (event) => {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  button.disabled = true;
  void attempt(async () => {
    note(
      'Replay demo: someone has copied your refresh cookie (malware, a leaked log…) and uses it before you do.',
      'warn',
    );
    const res = await loggedFetch('/auth/demo/attacker-refresh', {
      method: 'POST',
      credentials: 'include',
      headers: { 'x-token-transport': 'cookie' },
    });
    if (res.status === 404) {
      note('The replay demo is off when NODE_ENV=production.', 'info');
      return;
    }
    if (!res.ok) return;
    const { reuseGrace } = /** @type {{ reuseGrace: number }} */ (await res.json());
    note(
      `The thief's refresh rotated the session: the cookie in this browser is now a rotated-out token. ` +
        `Waiting ${reuseGrace + 1} s: within the ${reuseGrace} s grace window an old token still gets the same successor (for racing tabs).`,
      'warn',
    );
    await sleep((reuseGrace + 1) * 1000);
    note('This tab now refreshes with its cookie, the old token…', 'info');
    await client.refresh();
  }).finally(() => {
    button.disabled = element('status').dataset.session !== 'on';
  });
});

element('logout').addEventListener('click', () => {
  void attempt(() => client.logout());
});

element('logout-all').addEventListener('click', () => {
  void attempt(() => client.logout({ everywhere: true }));
});

// Start signed out; a browser that may hold a refresh cookie asks for an access token (the
// cookie goes along by itself), which is how a reload or a new tab resumes the session.
showSession(false, 'Signed out.');
if (localStorage.getItem(HINT) !== null) {
  note('This browser may hold a refresh cookie: asking for an access token.');
  void attempt(async () => {
    // undefined: no session to restore (the cookie is gone). No sessionended fires for it: this page held none.
    if ((await client.refresh()) === undefined && client.getAccessToken() === undefined) {
      localStorage.removeItem(HINT);
      showSession(false, `Signed out. ${ENDINGS.token_missing ?? ''}`);
      note('No session in this browser after all: register or log in.');
    }
  });
} else {
  note('Register or log in to start a session.');
}
