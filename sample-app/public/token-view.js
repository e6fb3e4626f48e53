// @ts-check
/**
 * The access token, decoded (header and payload; the signature is the
 * server's business), and a live countdown to its expiry.
 */

/** @type {{ expiresAt: number, lifetime: number } | undefined} */
let shown;
/** @type {ReturnType<typeof setInterval> | undefined} */
let timer;

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`demo page: no #${id}`);
  return found;
}

/** @param {string} segment */
function decodeSegment(segment) {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return /** @type {Record<string, unknown>} */ (JSON.parse(new TextDecoder().decode(bytes)));
}

/**
 * A JWT's header and payload, without checking anything.
 * @param {string} token
 */
export function decode(token) {
  const [header = '', payload = ''] = token.split('.');
  return { header: decodeSegment(header), payload: decodeSegment(payload) };
}

function tick() {
  const expiry = element('expiry');
  const bar = /** @type {HTMLProgressElement} */ (element('lifetime'));
  if (shown === undefined) {
    expiry.textContent = 'No access token.';
    expiry.dataset.state = 'none';
    bar.value = 0;
    return;
  }
  const left = (shown.expiresAt - Date.now()) / 1000;
  bar.value = Math.max(0, left) / shown.lifetime;
  if (left > 0) {
    expiry.textContent = `Expires in ${left.toFixed(1)} s.`;
    expiry.dataset.state = 'valid';
  } else {
    expiry.textContent = `Expired ${(-left).toFixed(1)} s ago: the next call gets 401 token_expired, then one refresh.`;
    expiry.dataset.state = 'expired';
  }
}

/**
 * Shows a token and counts down to `expiresAt`: when the client reckons it
 * expires (ms, by this machine's clock, from the server's `expiresIn`), or
 * else its `exp`.
 * @param {string} token
 * @param {number | undefined} expiresAt
 */
export function showToken(token, expiresAt) {
  const { header, payload } = decode(token);
  element('jwt-header').textContent = JSON.stringify(header, null, 2);
  element('jwt-payload').textContent = JSON.stringify(payload, null, 2);
  const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now();
  const iat = typeof payload.iat === 'number' ? payload.iat * 1000 : Date.now();
  shown = { expiresAt: expiresAt ?? exp, lifetime: Math.max(1, (exp - iat) / 1000) };
  timer ??= setInterval(tick, 100);
  tick();
}

export function clearToken() {
  shown = undefined;
  element('jwt-header').textContent = '–';
  element('jwt-payload').textContent = '–';
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  tick();
}
