/**
 * One spelling per ECDSA token. A signature (r, s) has a twin, (r, n − s),
 * that verifies just as well (n: the curve's group order), so a token could
 * be re-spelled without the key. Only the low-s one (s ≤ n/2, as Bitcoin's
 * BIP 62 and libsecp256k1 require) is accepted, and `sign` writes only
 * low-s signatures, turning a high s into n − s.
 */

/** The group order of each algorithm's curve (SEC 2: P-256, P-384, P-521) and its JOSE half-signature bytes. */
const orders: Record<string, { n: bigint; half: bigint; size: number }> = {};
for (const [algorithm, hex, size] of [
  ['ES256', 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 32],
  ['ES384', 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973', 48],
  ['ES512', `1ff${'f'.repeat(63)}a51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409`, 66],
] as const) {
  const n = BigInt(`0x${hex}`);
  orders[algorithm] = { n, half: n >> 1n, size };
}

const toBigInt = (bytes: Buffer): bigint => BigInt(`0x${bytes.toString('hex')}`);

/**
 * False when `signature` (a JWS signature segment, base64url) is an ECDSA
 * signature for `algorithm` whose s is in the upper half, or is not r||s of
 * the curve's length; true for any other algorithm. The signature itself is
 * checked afterwards, by the key.
 */
export function lowS(algorithm: string, signature: string): boolean {
  const order = orders[algorithm];
  if (order === undefined) return true;
  const bytes = Buffer.from(signature, 'base64url');
  if (bytes.length !== 2 * order.size) return false;
  return toBigInt(bytes.subarray(order.size)) <= order.half;
}

/** `token` with its ECDSA signature made low-s (s → n − s when s > n/2); any other token unchanged. */
export function withLowS(algorithm: string, token: string): string {
  const order = orders[algorithm];
  if (order === undefined) return token;
  const dot = token.lastIndexOf('.');
  const bytes = Buffer.from(token.slice(dot + 1), 'base64url');
  if (bytes.length !== 2 * order.size) throw new Error(`${algorithm} signature of ${bytes.length} bytes`);
  const s = toBigInt(bytes.subarray(order.size));
  if (s <= order.half) return token;
  const high = Buffer.from((order.n - s).toString(16).padStart(2 * order.size, '0'), 'hex');
  high.copy(bytes, order.size);
  return `${token.slice(0, dot + 1)}${bytes.toString('base64url')}`;
}
