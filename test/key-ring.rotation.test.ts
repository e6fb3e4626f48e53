/**
 * Rotating signing keys without logging anyone out, as README "Rotating
 * keys" prescribes: deploy [old, new] (new verifies only), then [new, old]
 * (new signs), then [new] once the old key's last tokens have expired.
 * Each deploy is a second TokenAuth on the same store, as another instance
 * or a restart would be; time moves by the `clock` option.
 */
import { expect } from 'chai';
import { MemorySessionStore, type RingKeyOptions, type TokenAuth, type TokenPair } from '../lib/index.js';
import { decode, makeAuth, rejection, T0 } from './helpers/token-auth.js';

const ACCESS_TTL = 15 * 60;
const REFRESH_TTL = 7 * 86_400;
const KEYS = {
  'at-old': 'access-old-secret-0123456789abcdefghij',
  'at-new': 'access-new-secret-0123456789abcdefghij',
  'rt-old': 'refresh-old-secret-0123456789abcdefghi',
  'rt-new': 'refresh-new-secret-0123456789abcdefghi',
} as const;
type Kid = keyof typeof KEYS;
const keys = (...kids: Kid[]): RingKeyOptions[] => kids.map((kid) => ({ kid, secret: KEYS[kid] }));
const kids = (pair: TokenPair): [unknown, unknown] => [
  decode(pair.accessToken).header.kid,
  decode(pair.refreshToken).header.kid,
];

describe('key rings: rotation without logging anyone out', () => {
  let store: MemorySessionStore;
  let now: number;
  /** One deploy: an instance with these rings on the shared store. */
  const deploy = (access: Kid[], refresh: Kid[]): TokenAuth =>
    makeAuth(store, () => now, {
      accessToken: { keys: keys(...access), ttl: ACCESS_TTL },
      refreshToken: { keys: keys(...refresh), ttl: REFRESH_TTL, maxLifetime: '30d', reuseGrace: 5 },
    });

  beforeEach(() => {
    now = T0;
    store = new MemorySessionStore();
  });
  afterEach(() => store.close());

  it('rotates both rings in three deploys: [old, new], [new, old], then [new] after the refresh lifetime', async () => {
    // (a) Before: everything signed and verified by the old keys.
    const before = deploy(['at-old'], ['rt-old']);
    const p1 = await before.issue({ userId: 'ann' });
    expect(kids(p1)).to.deep.equal(['at-old', 'rt-old']);

    // (1) Deploy [old, new]: the new keys verify, the old ones still sign. Instances not yet
    // deployed (`before`) keep verifying everything this one signs.
    now += 60;
    const step1 = deploy(['at-old', 'at-new'], ['rt-old', 'rt-new']);
    expect(step1.verifyAccessToken(p1.accessToken).userId).to.equal('ann');
    const p2 = await step1.refresh(p1.refreshToken);
    expect(kids(p2)).to.deep.equal(['at-old', 'rt-old']);
    expect(before.verifyAccessToken(p2.accessToken).userId).to.equal('ann');

    // (2) Deploy [new, old]: the new keys sign. Tokens signed by old still verify and refresh;
    // instances still on step 1 verify the new tokens, because they already hold the new keys.
    now += 60;
    const step2 = deploy(['at-new', 'at-old'], ['rt-new', 'rt-old']);
    expect(step2.verifyAccessToken(p2.accessToken).userId).to.equal('ann');
    const p3 = await step2.refresh(p2.refreshToken);
    expect(kids(p3)).to.deep.equal(['at-new', 'rt-new']);
    expect(step1.verifyAccessToken(p3.accessToken).userId).to.equal('ann');
    const p3b = await step1.refresh(p3.refreshToken);
    expect(decode(p3b.refreshToken).header.kid, 'a step-1 instance still signs with old').to.equal('rt-old');
    // Why step 1 comes first: an instance that never got the new keys refuses the new tokens.
    expect(await rejection(() => before.verifyAccessToken(p3.accessToken))).to.include({ code: 'token_invalid' });

    // A session that is only refreshed after the switch: its old-signed refresh token still works.
    const quiet = await step1.issue({ userId: 'bob' });
    now += REFRESH_TTL - 3600;
    const quietNext = await step2.refresh(quiet.refreshToken);
    expect(kids(quietNext)).to.deep.equal(['at-new', 'rt-new']);
    const annNext = await step2.refresh(p3b.refreshToken);

    // (3) Deploy [new] once every old-signed token has expired: the last ones were signed by
    // step-1 instances, and live a refresh-token lifetime.
    now += 3600 + 1;
    const step3 = deploy(['at-new'], ['rt-new']);
    const p4 = await step3.refresh(quietNext.refreshToken);
    expect(kids(p4)).to.deep.equal(['at-new', 'rt-new']);
    expect(step3.verifyAccessToken(p4.accessToken).userId).to.equal('bob');
    // An old-signed token, even a fresh one from an instance left on step 1, is now refused as invalid.
    const stale = await step1.issue({ userId: 'cat' });
    expect(kids(stale)).to.deep.equal(['at-old', 'rt-old']);
    expect(await rejection(() => step3.verifyAccessToken(stale.accessToken))).to.include({
      code: 'token_invalid',
      message: 'token is invalid',
    });
    expect(await rejection(step3.refresh(stale.refreshToken))).to.include({
      code: 'token_invalid',
      message: 'token is invalid',
    });
    expect(await rejection(step3.refresh(p2.refreshToken)), 'an expired old token').to.include({
      code: 'token_invalid',
    });
    // Nobody who kept using the app was logged out: ann's session carries on under the new keys.
    const annLater = await step3.refresh(annNext.refreshToken);
    expect(kids(annLater)).to.deep.equal(['at-new', 'rt-new']);
    expect(decode(annLater.refreshToken).payload.sid).to.equal(decode(p1.refreshToken).payload.sid);
  });

  it('rotates the access ring alone, and may drop the old access key after one access-token lifetime', async () => {
    const before = deploy(['at-old'], ['rt-old']);
    const p1 = await before.issue({ userId: 'ann' });
    const step1 = deploy(['at-old', 'at-new'], ['rt-old']);
    const step2 = deploy(['at-new', 'at-old'], ['rt-old']);
    now += 60;
    expect(step1.verifyAccessToken(p1.accessToken).userId).to.equal('ann');
    const p2 = await step2.refresh(p1.refreshToken);
    expect(kids(p2)).to.deep.equal(['at-new', 'rt-old']);
    expect(step1.verifyAccessToken(p2.accessToken).userId).to.equal('ann');
    // The last access token signed with at-old (by step 1) expires one access lifetime after step 2.
    const lastOld = await step1.issue({ userId: 'bob' });
    now += ACCESS_TTL;
    const step3 = deploy(['at-new'], ['rt-old']);
    expect(await rejection(() => step3.verifyAccessToken(lastOld.accessToken))).to.include({ code: 'token_invalid' });
    expect(await rejection(() => step2.verifyAccessToken(lastOld.accessToken)), 'expired anyway').to.include({
      code: 'token_expired',
    });
    // Its refresh token was signed by the unchanged refresh ring: bob stays logged in.
    const bob = await step3.refresh(lastOld.refreshToken);
    expect(kids(bob)).to.deep.equal(['at-new', 'rt-old']);
    expect(step3.verifyAccessToken(bob.accessToken).userId).to.equal('bob');
  });

  it('refuses an old refresh token if the old refresh key is dropped too early (why the last step waits)', async () => {
    const step1 = deploy(['at-old'], ['rt-old', 'rt-new']);
    const pair = await step1.issue({ userId: 'ann' });
    now += ACCESS_TTL + 1; // long enough for the access ring, not for the refresh ring
    const tooEarly = deploy(['at-old'], ['rt-new']);
    expect(await rejection(tooEarly.refresh(pair.refreshToken))).to.include({ code: 'token_invalid' });
    // The same token, one deploy later than it should be, is fine with the old key still listed.
    const patient = deploy(['at-old'], ['rt-new', 'rt-old']);
    expect(kids(await patient.refresh(pair.refreshToken))).to.deep.equal(['at-old', 'rt-new']);
  });

  it('moves from a single secret to a ring without logging anyone out, through a legacy key', async () => {
    const single = makeAuth(store, () => now, {
      accessToken: { secret: KEYS['at-old'], ttl: ACCESS_TTL },
      refreshToken: { secret: KEYS['rt-old'], ttl: REFRESH_TTL },
    });
    const pair = await single.issue({ userId: 'ann' });
    expect(kids(pair)).to.deep.equal([undefined, undefined]);
    // The same secrets, now named and marked legacy: kid-less tokens still verify; new ones carry a kid.
    const ringed = makeAuth(store, () => now, {
      accessToken: { keys: [{ kid: 'at-old', secret: KEYS['at-old'], legacy: true }], ttl: ACCESS_TTL },
      refreshToken: { keys: [{ kid: 'rt-old', secret: KEYS['rt-old'], legacy: true }], ttl: REFRESH_TTL },
    });
    expect(ringed.verifyAccessToken(pair.accessToken).userId).to.equal('ann');
    now += 60;
    const next = await ringed.refresh(pair.refreshToken);
    expect(kids(next)).to.deep.equal(['at-old', 'rt-old']);
    // The single-key form still verifies the kid-carrying tokens (it ignores kid), so instances
    // not yet moved keep working during the deploy.
    expect(single.verifyAccessToken(next.accessToken).userId).to.equal('ann');
    // After a refresh lifetime, legacy can go: kid-less tokens are then refused.
    now += REFRESH_TTL;
    const done = deploy(['at-old'], ['rt-old']);
    expect(await rejection(done.refresh(pair.refreshToken))).to.include({ code: 'token_invalid' });
  });
});
