/**
 * The sample app with DPOP (issue 16): the env variable, and a session in
 * required mode driven with proofs made by jose: login binds, /me needs the
 * key, refresh keeps it, GraphQL takes the DPoP token too.
 */
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt, SignJWT, type JWK } from 'jose';
import request from 'supertest';
import { ConfigError, loadConfig } from '../sample-app/config.js';
import { appFactory, email, PASSWORD, signUp, type LoginBody } from './helpers/sample-app.js';

const HOST = 'app.example.test';

describe('sample app: DPOP', () => {
  it('reads DPOP: off by default and when empty, optional, required; anything else names DPOP', () => {
    expect(loadConfig({}).dpop).to.equal('off');
    expect(loadConfig({ DPOP: '' }).dpop).to.equal('off');
    expect(loadConfig({ DPOP: 'optional' }).dpop).to.equal('optional');
    expect(loadConfig({ DPOP: 'required' }).dpop).to.equal('required');
    for (const bad of ['REQUIRED', 'on', 'true', 'required,optional'])
      expect(() => loadConfig({ DPOP: bad }), bad).to.throw(ConfigError, /^DPOP must be off, optional or required/);
  });

  describe('DPOP=required', () => {
    const apps = appFactory(() => ({ dpop: 'required' }));
    let privateKey: KeyObject;
    let jwk: JWK;
    before(() => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      privateKey = pair.privateKey;
      jwk = pair.publicKey.export({ format: 'jwk' });
    });
    beforeEach(() => {
      apps.reset();
    });
    afterEach(() => apps.closeAll());

    const proof = (method: string, path: string, token?: string) => {
      const claims: Record<string, unknown> = {
        htm: method,
        htu: `http://${HOST}${path}`,
        jti: randomUUID(),
        iat: Math.floor(apps.clock.now / 1000),
      };
      if (token !== undefined) claims.ath = createHash('sha256').update(token).digest('base64url');
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).sign(privateKey);
    };

    it('binds the login, and /me, refresh and GraphQL need the key', async () => {
      const sample = await apps.make();
      const who = email();
      await signUp(sample, who);
      const without = await request(sample.app)
        .post('/auth/login')
        .set('Host', HOST)
        .send({ email: who, password: PASSWORD });
      expect(without.status, 'a login without a proof').to.equal(400);
      expect((without.body as { error: string }).error).to.equal('invalid_dpop_proof');
      const login = await request(sample.app)
        .post('/auth/login')
        .set('Host', HOST)
        .set('DPoP', await proof('POST', '/auth/login'))
        .send({ email: who, password: PASSWORD });
      expect(login.status, login.text).to.equal(200);
      const pair = login.body as LoginBody;
      expect(pair.tokenType).to.equal('DPoP');
      expect(decodeJwt(pair.accessToken).cnf).to.have.property('jkt').that.is.a('string');
      const me = await request(sample.app)
        .get('/me')
        .set('Host', HOST)
        .set('Authorization', `DPoP ${pair.accessToken}`)
        .set('DPoP', await proof('GET', '/me', pair.accessToken));
      expect(me.status, me.text).to.equal(200);
      const stolen = await request(sample.app)
        .get('/me')
        .set('Host', HOST)
        .set('Authorization', `Bearer ${pair.accessToken}`);
      expect(stolen.status, 'the token alone, as Bearer').to.equal(401);
      const graphql = await request(sample.app)
        .post('/graphql')
        .set('Host', HOST)
        .set('Authorization', `DPoP ${pair.accessToken}`)
        .set('DPoP', await proof('POST', '/graphql', pair.accessToken))
        .send({ query: '{ me { email } }' });
      expect(graphql.status, graphql.text).to.equal(200);
      expect(graphql.body).to.deep.equal({ data: { me: { email: who } } });
      const refreshed = await request(sample.app)
        .post('/auth/refresh')
        .set('Host', HOST)
        .set('DPoP', await proof('POST', '/auth/refresh'))
        .send({ refreshToken: pair.refreshToken });
      expect(refreshed.status, refreshed.text).to.equal(200);
      expect((refreshed.body as LoginBody).tokenType).to.equal('DPoP');
    });
  });
});
