/**
 * RedisSessionStore's endings against a real redis-server: a script that
 * cannot record a revocation changes no session (Redis does not roll a
 * script back, so the append goes first), and an operation that ends
 * nothing writes nothing to the revocation stream.
 */
import { expect } from 'chai';
import { createClient } from 'redis';
import { createTokenAuth, RedisSessionStore, StoreUnavailableError, type TokenAuth, type TokenPair } from '../lib/index.js';
import { deletePrefixed } from './helpers/redis-clients.js';
import { requireRedis, sharedRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, decode, REFRESH, rejection } from './helpers/token-auth.js';

describe('RedisSessionStore endings on a real redis-server', function () {
  let redis: { url: string; close: () => Promise<void> };
  let client: ReturnType<typeof createClient>;
  let prefix: string;

  before(async function () {
    requireRedis(this);
    redis = await sharedRedis();
    client = createClient({ url: redis.url, disableOfflineQueue: true });
    await client.connect();
  });
  after(async () => {
    if (client?.isOpen) await client.close();
    await redis?.close();
  });
  beforeEach(() => { prefix = uniquePrefix(); });
  afterEach(async () => deletePrefixed(client, prefix));

  function makeAuth(maxSessionsPerUser = 100): TokenAuth {
    return createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH, reuseGrace: 0 },
      maxSessionsPerUser,
      store: new RedisSessionStore({ client, prefix }),
    });
  }

  const stream = (): string => `${prefix}revocations`;
  const sid = (pair: TokenPair): string => String(decode(pair.refreshToken).payload.sid);
  const listed = async (auth: TokenAuth, userId: string): Promise<string[]> =>
    (await auth.listSessions(userId)).map((s) => s.sessionId).sort();

  it('ends no session when the revocation stream cannot be appended to, and records once it can', async () => {
    const auth = makeAuth(2);
    const a = await auth.issue({ userId: 'u1' });
    const b = await auth.issue({ userId: 'u1' });
    const rotated = await auth.refresh(a.refreshToken);
    const both = [sid(a), sid(b)].sort();
    // Someone (an operator, another app on the same prefix) left a string where the stream goes.
    await client.sendCommand(['SET', stream(), 'not a stream']);

    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['logout', () => auth.revoke(b.refreshToken)],
      ['logout with a rotated-out token (reuse)', () => auth.revoke(a.refreshToken)],
      ['refresh with a rotated-out token (reuse)', () => auth.refresh(a.refreshToken)],
      ['revokeSession', () => auth.revokeSession('u1', sid(b))],
      ['revokeAll', () => auth.revokeAll('u1')],
      ['revokeOtherSessions', () => auth.revokeOtherSessions('u1', sid(a))],
      ['a login that evicts the least recently used session', () => auth.issue({ userId: 'u1' })],
    ];
    for (const [what, attempt] of attempts) {
      const error = await rejection(attempt);
      expect(error, what).to.be.instanceOf(StoreUnavailableError);
      expect(String(error.cause), what).to.match(/WRONGTYPE/);
      expect(await listed(auth, 'u1'), `${what}: every session intact`).to.deep.equal(both);
    }
    expect(await client.sendCommand(['GET', stream()]), 'the stray key untouched').to.equal('not a stream');

    await client.sendCommand(['DEL', stream()]);
    const next = await auth.refresh(rotated.refreshToken);
    expect(auth.verifyAccessToken(next.accessToken).sessionId).to.equal(sid(a));
    expect(await auth.revoke(b.refreshToken)).to.equal(true);
    const record = await client.sendCommand<Array<[string, string[]]>>(['XRANGE', stream(), '-', '+']);
    expect(record.map(([, fields]) => `${fields[1]} ${fields[3]}`)).to.deep.equal([`s ${sid(b)}`]);
  });

  it('appends nothing to the stream for an operation that ends nothing', async () => {
    const auth = makeAuth();
    const kept = await auth.issue({ userId: 'u1' });
    await auth.revoke((await auth.issue({ userId: 'u1' })).refreshToken); // creates the stream: one entry
    const length = async (): Promise<number> => Number(await client.sendCommand(['XLEN', stream()]));
    expect(await length()).to.equal(1);

    expect(await auth.revokeAll('nobody')).to.equal(0);
    expect(await auth.revokeOtherSessions('u1', sid(kept))).to.equal(0);
    expect(await auth.revokeSession('u1', 'never-there')).to.equal(false);
    expect(await auth.revokeSession('someone-else', sid(kept))).to.equal(false);
    expect(await auth.revokeAll('u1')).to.equal(1);
    expect(await length()).to.equal(3); // the kept session and the user cut-off
    for (let i = 0; i < 5; i += 1) expect(await auth.revokeAll('u1')).to.equal(0);
    expect(await length(), 'logout-all of a user with no sessions left').to.equal(3);
  });
});
