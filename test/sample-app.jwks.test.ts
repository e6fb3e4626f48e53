/**
 * The sample app with ACCESS_TOKEN_PRIVATE_KEY: the variables read by
 * config.ts (algorithm from the key, kid from ACCESS_TOKEN_KID or the
 * thumbprint, every bad value named without echoing the key), and the app
 * over real HTTP: its access tokens verify with jose's createRemoteJWKSet
 * against its own GET /.well-known/jwks.json. Without the key, that route is 404.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { calculateJwkThumbprint, createRemoteJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { ConfigError, loadConfig } from '../sample-app/config.js';
import { appFactory, email, logIn, me, refresh, signUp } from './helpers/sample-app.js';

const REFRESH = 'env-refresh-secret-0123456789-abcdefghij';
const ACCESS = 'env-access-secret-0123456789-abcdefghijk';
const pem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }) as string;
const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${Object.keys(env).join(', ')}`);
}

describe('sample app: ACCESS_TOKEN_PRIVATE_KEY and the JWKS', () => {
  describe('configuration', () => {
    it('reads the key, takes the algorithm from it and a stable thumbprint kid, and needs no access secret', async () => {
      const config = loadConfig({
        ACCESS_TOKEN_PRIVATE_KEY: pem(ec256),
        REFRESH_TOKEN_SECRET: REFRESH,
        NODE_ENV: 'production',
      });
      expect(config.accessTokenSecret).to.equal(undefined);
      expect(config.warnings).to.deep.equal([]);
      const key = config.accessTokenKey!;
      expect(key.algorithm).to.equal('ES256');
      expect(key.privateKey.equals(ec256)).to.equal(true);
      expect(key.kid).to.equal(await calculateJwkThumbprint(ec256.export({ format: 'jwk' }), 'sha256'));
      expect(
        loadConfig({ ACCESS_TOKEN_PRIVATE_KEY: pem(ec256) }).accessTokenKey!.kid,
        'the same on every start',
      ).to.equal(key.kid);
    });

    it('takes ACCESS_TOKEN_KID, PEMs with \\n for newlines, and each key type with its algorithm', () => {
      const escaped = pem(ec256).trim().replace(/\n/g, '\\n');
      expect(loadConfig({ ACCESS_TOKEN_PRIVATE_KEY: escaped, ACCESS_TOKEN_KID: '2026-06' }).accessTokenKey).to.include({
        kid: '2026-06',
        algorithm: 'ES256',
      });
      const pss = generateKeyPairSync('rsa-pss', {
        modulusLength: 2048,
        hashAlgorithm: 'sha384',
        mgf1HashAlgorithm: 'sha384',
        saltLength: 48 as unknown as string,
      }).privateKey;
      const cases: Array<[KeyObject, string]> = [
        [rsa, 'RS256'],
        [pss, 'PS384'],
        [generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'ES384'],
        [generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey, 'ES512'],
      ];
      for (const [key, algorithm] of cases) {
        expect(loadConfig({ ACCESS_TOKEN_PRIVATE_KEY: pem(key) }).accessTokenKey!.algorithm).to.equal(algorithm);
      }
      expect(loadConfig({}).accessTokenKey, 'unset: the secrets path, unchanged').to.equal(undefined);
    });

    it('names the variable for every bad value, and never echoes the key', () => {
      const body = pem(ec256).split('\n')[1]!;
      const cases: Array<[Record<string, string>, string]> = [
        [
          { ACCESS_TOKEN_PRIVATE_KEY: 'not a key' },
          'ACCESS_TOKEN_PRIVATE_KEY must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----); generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256',
        ],
        [
          { ACCESS_TOKEN_PRIVATE_KEY: pem(ec256).replace(body, body.slice(0, 20)) },
          'ACCESS_TOKEN_PRIVATE_KEY must be an unencrypted PEM private key',
        ],
        [
          {
            ACCESS_TOKEN_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
              type: 'spki',
              format: 'pem',
            }) as string,
          },
          'ACCESS_TOKEN_PRIVATE_KEY holds a public key; it needs the private key (the app publishes the public half itself)',
        ],
        [
          { ACCESS_TOKEN_PRIVATE_KEY: pem(generateKeyPairSync('ed25519').privateKey) },
          'ACCESS_TOKEN_PRIVATE_KEY must be an EC (P-256, P-384, P-521) or RSA private key (got ed25519 key)',
        ],
        [
          { ACCESS_TOKEN_PRIVATE_KEY: pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey) },
          'ACCESS_TOKEN_PRIVATE_KEY must be on curve P-256, P-384 or P-521 (got secp256k1)',
        ],
        [
          { ACCESS_TOKEN_PRIVATE_KEY: pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey) },
          'ACCESS_TOKEN_PRIVATE_KEY must be an RSA key of at least 2048 bits (got 1024)',
        ],
        [
          { ACCESS_TOKEN_PRIVATE_KEY: pem(ec256), ACCESS_TOKEN_SECRET: ACCESS },
          'set ACCESS_TOKEN_PRIVATE_KEY or ACCESS_TOKEN_SECRET, not both: access tokens are signed with one of them',
        ],
        [{ ACCESS_TOKEN_KID: 'k1' }, 'ACCESS_TOKEN_KID names the key in ACCESS_TOKEN_PRIVATE_KEY, which is not set'],
        [
          { ACCESS_TOKEN_PRIVATE_KEY: pem(ec256), ACCESS_TOKEN_KID: 'key one' },
          'ACCESS_TOKEN_KID must be 1 to 64 printable ASCII characters, no spaces (got "key one")',
        ],
        [
          { ACCESS_TOKEN_PRIVATE_KEY: pem(ec256), ACCESS_TOKEN_KID: 'k'.repeat(65) },
          'ACCESS_TOKEN_KID must be 1 to 64 printable ASCII characters',
        ],
        [
          { NODE_ENV: 'production', ACCESS_TOKEN_PRIVATE_KEY: pem(ec256) },
          'REFRESH_TOKEN_SECRET is required when NODE_ENV=production',
        ],
      ];
      for (const [env, message] of cases) {
        const error = configError(env);
        expect(error.message, Object.keys(env).join()).to.satisfy((text: string) => text.startsWith(message));
        expect(error.message).to.not.include(body.slice(0, 20));
        expect(error.message).to.not.include('PRIVATE KEY-----\n');
      }
    });
  });

  describe('over HTTP', () => {
    const apps = appFactory(() => ({}));
    const servers: Server[] = [];
    afterEach(async () => {
      for (const server of servers.splice(0)) {
        server.close();
        server.closeAllConnections();
      }
      await apps.closeAll();
    });

    /** The app with `env`'s key, listening on a free port; its base URL. */
    async function serve(
      env: Record<string, string>,
    ): Promise<{ url: string; sample: Awaited<ReturnType<typeof apps.make>> }> {
      const config = loadConfig(env);
      const sample = await apps.make({
        accessTokenSecret: config.accessTokenSecret,
        accessTokenKey: config.accessTokenKey,
        refreshTokenSecret: REFRESH,
      });
      const server = createServer(sample.app).listen(0, '127.0.0.1');
      servers.push(server);
      await once(server, 'listening');
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sample };
    }

    for (const [name, key, algorithm] of [
      ['an EC key', ec256, 'ES256'],
      ['an RSA key', rsa, 'RS256'],
    ] as const) {
      it(`serves the JWKS, and jose verifies the app's access tokens against it (${name})`, async () => {
        const { url, sample } = await serve({
          ACCESS_TOKEN_PRIVATE_KEY: pem(key),
          ACCESS_TOKEN_KID: `sample-${algorithm}`,
        });
        const jwksAnswer = await fetch(`${url}/.well-known/jwks.json`);
        expect(jwksAnswer.status).to.equal(200);
        expect(jwksAnswer.headers.get('cache-control')).to.equal('public, max-age=300, stale-while-revalidate=60');
        expect(jwksAnswer.headers.get('etag')).to.match(/^"[\w-]{43}"$/);
        const set = (await jwksAnswer.json()) as { keys: Array<Record<string, unknown>> };
        expect(set.keys).to.have.length(1);
        expect(set.keys[0]).to.include({ kid: `sample-${algorithm}`, alg: algorithm, use: 'sig' });
        expect(set.keys[0]).to.not.have.any.keys('d', 'p', 'q', 'dp', 'dq', 'qi');

        const user = await signUp(sample, email('jwks'));
        const login = await logIn(sample, user.email);
        const keySet = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`));
        const verified = await jwtVerify(login.accessToken, keySet, { algorithms: [algorithm], typ: 'at+jwt' });
        expect(verified.payload.sub).to.equal(user.id);
        expect(verified.protectedHeader.kid).to.equal(`sample-${algorithm}`);
        expect((await me(sample, login.accessToken)).body).to.deep.equal({ user });
        const next = (await refresh(sample, login.refreshToken)).body as { accessToken: string };
        expect((await jwtVerify(next.accessToken, keySet, { algorithms: [algorithm] })).payload.sub).to.equal(user.id);
        // A token this app did not sign (another key, same kid) does not pass jose either.
        const other = await serve({
          ACCESS_TOKEN_PRIVATE_KEY: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
          ACCESS_TOKEN_KID: `sample-${algorithm}`,
        });
        const stranger = await logIn(other.sample, (await signUp(other.sample, email('stranger'))).email);
        const refused = await jwtVerify(stranger.accessToken, keySet).then(
          () => 'accepted',
          (error: unknown) => (error as { code?: string }).code,
        );
        expect(refused).to.be.oneOf(['ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWKS_NO_MATCHING_KEY']);
      });
    }

    it('has no JWKS route on the secrets path (404), and its tokens stay HS256 without kid', async () => {
      const { sample } = await serve({ ACCESS_TOKEN_SECRET: ACCESS });
      const answer = await request(sample.app).get('/.well-known/jwks.json');
      expect([answer.status, answer.body]).to.deep.equal([404, { error: 'not_found', message: 'no such route' }]);
      const login = await logIn(sample, (await signUp(sample, email('secret'))).email);
      expect(JSON.parse(Buffer.from(login.accessToken.split('.')[0]!, 'base64url').toString())).to.deep.equal({
        alg: 'HS256',
        typ: 'at+jwt',
      });
    });
  });
});
