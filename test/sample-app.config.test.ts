import { expect } from 'chai';
import express from 'express';
import fc from 'fast-check';
import { ConfigError, httpsUnreachable, loadConfig, parseTrustProxy } from '../sample-app/config.js';
import { selfSignedCertificate, type TestCertificate } from './helpers/tls-cert.js';

const ACCESS = 'env-access-secret-0123456789-abcdefghijk';
const REFRESH = 'env-refresh-secret-0123456789-abcdefghij';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('sample app configuration (environment variables)', () => {
  it('uses the documented defaults, with random secrets and a warning for each in development', () => {
    const config = loadConfig({});
    expect(config).to.include({
      port: 3000,
      redisUrl: undefined,
      accessTokenTtl: 900,
      refreshTokenTtl: 7 * 86_400,
      reuseGrace: 5,
      loginRateLimit: 10,
      refreshRateLimit: 30,
      trustProxy: false,
      replayDemo: true,
    });
    expect(config.publicOrigins).to.deep.equal(['http://localhost:3000']);
    expect(loadConfig({ PORT: '8080' }).publicOrigins).to.deep.equal(['http://localhost:8080']);
    expect(Buffer.byteLength(config.accessTokenSecret ?? '')).to.be.at.least(32);
    expect(config.refreshTokenSecret).to.not.equal(config.accessTokenSecret);
    expect(loadConfig({}).accessTokenSecret).to.not.equal(config.accessTokenSecret);
    expect(config.warnings).to.have.length(2);
    expect(config.warnings[0]).to.match(/^ACCESS_TOKEN_SECRET is not set: using a random secret/);
    expect(config.warnings[1]).to.match(/^REFRESH_TOKEN_SECRET is not set/);
  });

  it('reads every variable, durations as seconds or 15m/7d strings, 0 turning a limit off', () => {
    const config = loadConfig({
      PORT: '8080',
      REDIS_URL: 'redis://localhost:6379',
      ACCESS_TOKEN_SECRET: ACCESS,
      REFRESH_TOKEN_SECRET: REFRESH,
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '86400',
      REFRESH_REUSE_GRACE: '0',
      LOGIN_RATE_LIMIT: '0',
      REFRESH_RATE_LIMIT: '100',
      TRUST_PROXY: '1',
      NODE_ENV: 'production',
      PUBLIC_ORIGIN: 'https://app.example.com, https://www.example.com',
      DPOP: 'required',
    });
    expect(config).to.deep.equal({
      port: 8080,
      redisUrl: 'redis://localhost:6379',
      redisClusterUrls: undefined,
      accessTokenSecret: ACCESS,
      refreshTokenSecret: REFRESH,
      accessTokenTtl: 300,
      refreshTokenTtl: 86_400,
      reuseGrace: 0,
      loginRateLimit: 0,
      refreshRateLimit: 100,
      trustProxy: 1,
      publicOrigins: ['https://app.example.com', 'https://www.example.com'],
      replayDemo: false,
      dpop: 'required',
      warnings: [],
      httpsRequired: true,
      tls: undefined,
    });
    expect(loadConfig({ REDIS_URL: '', PORT: ' ', ACCESS_TOKEN_TTL: '2h' })).to.include({
      redisUrl: undefined,
      port: 3000,
      accessTokenTtl: 7200,
    });
  });

  it('reads REDIS_CLUSTER_URLS as a list of node URLs, never together with REDIS_URL', () => {
    expect(
      loadConfig({ REDIS_CLUSTER_URLS: 'redis://10.0.0.1:6379, rediss://10.0.0.2:6380' }).redisClusterUrls,
    ).to.deep.equal(['redis://10.0.0.1:6379', 'rediss://10.0.0.2:6380']);
    expect(loadConfig({}).redisClusterUrls).to.equal(undefined);
    expect(
      configError({ REDIS_CLUSTER_URLS: 'redis://10.0.0.1:6379', REDIS_URL: 'redis://localhost' }).message,
    ).to.equal('set REDIS_URL or REDIS_CLUSTER_URLS, not both');
    const bad = configError({ REDIS_CLUSTER_URLS: 'redis://:hunter2@10.0.0.1:6379,http://10.0.0.2' }).message;
    expect(bad).to.match(/^REDIS_CLUSTER_URLS must be comma-separated redis:\/\/ or rediss:\/\/ URLs/);
    expect(bad).not.to.include('hunter2');
  });

  it('refuses to start in production without both secrets', () => {
    expect(configError({ NODE_ENV: 'production' }).message).to.match(
      /^ACCESS_TOKEN_SECRET is required when NODE_ENV=production; generate one with/,
    );
    expect(configError({ NODE_ENV: 'production', ACCESS_TOKEN_SECRET: ACCESS }).message).to.match(
      /^REFRESH_TOKEN_SECRET is required when NODE_ENV=production/,
    );
  });

  it('names the variable for every bad value, and never echoes a secret or a Redis URL', () => {
    const short = 'too-short-secret';
    const cases: Array<[env: Record<string, string>, message: RegExp]> = [
      [{ PORT: 'eighty' }, /^PORT must be a whole number from 0 to 65535 \(got "eighty"\)$/],
      [{ PORT: '70000' }, /^PORT must be a whole number/],
      [{ LOGIN_RATE_LIMIT: '-1' }, /^LOGIN_RATE_LIMIT must be a whole number/],
      [{ REFRESH_RATE_LIMIT: '2.5' }, /^REFRESH_RATE_LIMIT must be a whole number/],
      [{ ACCESS_TOKEN_TTL: '15 minutes' }, /^ACCESS_TOKEN_TTL must be a positive duration .*\(got "15 minutes"\)$/],
      [{ ACCESS_TOKEN_TTL: '0' }, /^ACCESS_TOKEN_TTL must be a positive duration/],
      [{ REFRESH_TOKEN_TTL: '1w' }, /^REFRESH_TOKEN_TTL must be a positive duration/],
      [{ REFRESH_TOKEN_TTL: '31d' }, /^REFRESH_TOKEN_TTL must be at most 30d/],
      [{ REFRESH_REUSE_GRACE: 'soon' }, /^REFRESH_REUSE_GRACE must be a whole number/],
      [{ REFRESH_REUSE_GRACE: '61' }, /^REFRESH_REUSE_GRACE must be a whole number from 0 to 60 \(got "61"\)$/],
      [
        { REFRESH_TOKEN_TTL: '60', REFRESH_REUSE_GRACE: '60' },
        /^REFRESH_REUSE_GRACE \(60s\) must be shorter than REFRESH_TOKEN_TTL \(60s\)$/,
      ],
      [{ ACCESS_TOKEN_SECRET: short }, /^ACCESS_TOKEN_SECRET must be at least 32 bytes \(got 16\)/],
      [{ ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: short }, /^REFRESH_TOKEN_SECRET must be at least 32 bytes/],
      [
        { ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: ACCESS },
        /^ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must differ$/,
      ],
      [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ REDIS_URL: 'http://user:hunter2@cache:6379' }, /^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ TRUST_PROXY: 'true' }, /^TRUST_PROXY=true would let any client choose its IP address/],
      [{ TRUST_PROXY: 'loopback, nginx' }, /^TRUST_PROXY must be .* \(got "nginx"\)$/],
      [
        { PUBLIC_ORIGIN: 'https://app.example.com/' },
        /^PUBLIC_ORIGIN must be origins such as .* \(got "https:\/\/app.example.com\/"\)$/,
      ],
      [{ PUBLIC_ORIGIN: 'localhost:3000' }, /^PUBLIC_ORIGIN must be origins such as/],
      [
        { PUBLIC_ORIGIN: 'http://app.example.com' },
        /^PUBLIC_ORIGIN must be https \(http only for localhost and 127.0.0.1; got "http:\/\/app.example.com"\)$/,
      ],
    ];
    for (const [env, message] of cases) {
      const error = configError(env);
      expect(error.message, JSON.stringify(env)).to.match(message);
      for (const hidden of [short, ACCESS, 'hunter2']) expect(error.message).to.not.include(hidden);
    }
  });

  it('reads TRUST_PROXY as off, a hop count, or a list of addresses and subnets', () => {
    const cases: Array<[raw: string | undefined, expected: unknown]> = [
      [undefined, false],
      ['false', false],
      ['0', false],
      ['2', 2],
      ['loopback', ['loopback']],
      ['10.0.0.0/8, 192.168.1.5 ,::1', ['10.0.0.0/8', '192.168.1.5', '::1']],
    ];
    for (const [raw, expected] of cases) expect(parseTrustProxy(raw), raw).to.deep.equal(expected);
  });

  it('accepts at most 5 hops, and subnets up to /8 (IPv4) or /24 (IPv6) covering at most four /8s in all', () => {
    const accepted: Array<[raw: string, expected: unknown]> = [
      ['5', 5],
      ['10.0.0.0/8', ['10.0.0.0/8']],
      [
        '10.0.0.0/8, 127.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16',
        ['10.0.0.0/8', '127.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16'],
      ],
      ['2600:9000::/28, 2a06:98c0::/29, 2400:cb00::/32', ['2600:9000::/28', '2a06:98c0::/29', '2400:cb00::/32']], // CloudFront, Cloudflare
      ['::ffff:10.0.0.0/104', ['::ffff:10.0.0.0/104']],
      ['loopback, linklocal, uniquelocal, 10.1.2.3', ['loopback', 'linklocal', 'uniquelocal', '10.1.2.3']],
      [
        '1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,4.1.0.0/16',
        ['1.0.0.0/8', '2.0.0.0/8', '3.0.0.0/8', '4.0.0.0/8', '4.1.0.0/16'],
      ],
    ];
    for (const [raw, expected] of accepted) {
      expect(parseTrustProxy(raw), raw).to.deep.equal(expected);
      expect(() => express().set('trust proxy', expected), raw).to.not.throw();
    }
  });

  it('refuses TRUST_PROXY values that trust (nearly) every client, or that Express could not compile', () => {
    const hops = /^TRUST_PROXY must be a number of proxies from 1 to 5 \(got \d+\)/;
    const wide = (entry: string): RegExp =>
      new RegExp(`^TRUST_PROXY subnet "${entry.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" is too wide`);
    const cases: Array<[raw: string, message: RegExp]> = [
      ['6', hops],
      ['99', hops],
      ['4294967296', hops],
      ['0.0.0.0/0', wide('0.0.0.0/0')],
      ['::/0', wide('::/0')],
      ['0.0.0.0/1,128.0.0.0/1', wide('0.0.0.0/1')],
      ['10.0.0.0/7', wide('10.0.0.0/7')],
      ['2001:db8::/23', wide('2001:db8::/23')],
      ['fc00::/7', wide('fc00::/7')],
      ['::ffff:0.0.0.0/96', wide('::ffff:0.0.0.0/96')], // IPv4-mapped: every IPv4 client
      ['::ffff:0:0/100', wide('::ffff:0:0/100')],
      ['10.0.0.0/33', /^TRUST_PROXY subnet "10.0.0.0\/33": the prefix length must be 1 to 32$/],
      ['::1/129', /^TRUST_PROXY subnet "::1\/129": the prefix length must be 1 to 128$/],
      ['10.0.0.0/255.0.0.0', /^TRUST_PROXY must be .* \(got "10.0.0.0\/255.0.0.0"\)$/],
      [
        '1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8',
        /^TRUST_PROXY subnets together cover 83886080 IPv4 addresses, more than 67108864 \(four \/8s\)/,
      ],
      [
        Array.from({ length: 17 }, (_, i) => `2001:${(i * 256).toString(16)}::/24`).join(','),
        /^TRUST_PROXY subnets together cover \d+ IPv6 addresses, more than \d+ \(sixteen \/24s\)/,
      ],
    ];
    for (const [raw, message] of cases) {
      let error: unknown;
      try {
        parseTrustProxy(raw);
      } catch (caught) {
        error = caught;
      }
      expect(error, raw).to.be.instanceOf(ConfigError);
      expect((error as Error).message, raw).to.match(message);
      expect(configError({ TRUST_PROXY: raw }).message).to.equal((error as Error).message);
    }
  });

  it('never lets through a TRUST_PROXY list that Express then fails to compile', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
    const v6 = fc.ipV6();
    const entry = fc.oneof(
      fc.tuple(v4, fc.option(fc.nat(40))).map(([ip, bits]) => (bits === null ? ip : `${ip}/${bits}`)),
      fc.tuple(v6, fc.option(fc.nat(140))).map(([ip, bits]) => (bits === null ? ip : `${ip}/${bits}`)),
      fc.constantFrom('loopback', 'linklocal', 'uniquelocal'),
    );
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), (entries) => {
        let parsed: unknown;
        try {
          parsed = parseTrustProxy(entries.join(','));
        } catch (error) {
          if (error instanceof ConfigError) return;
          throw error;
        }
        expect(() => express().set('trust proxy', parsed)).to.not.throw();
      }),
      { numRuns: 500 },
    );
  });
});

describe('sample app configuration: HTTPS_REQUIRED, TLS_CERT_FILE, TLS_KEY_FILE (issue 18, item 15)', function () {
  this.timeout(120_000); // generous for a busy machine (openssl makes two certificates); nothing here is bounded by the clock
  const production = { NODE_ENV: 'production', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH };
  let certificate: TestCertificate;
  let other: TestCertificate;
  before(async () => {
    [certificate, other] = await Promise.all([selfSignedCertificate(), selfSignedCertificate()]);
  });
  after(async () => {
    await Promise.all([certificate?.remove(), other?.remove()]);
  });

  it('requires HTTPS by default in production and not in development; HTTPS_REQUIRED turns it either way', () => {
    expect(loadConfig({})).to.include({ httpsRequired: false, tls: undefined });
    expect(loadConfig(production)).to.include({ httpsRequired: true, tls: undefined });
    expect(loadConfig(production).warnings).to.deep.equal([]);
    expect(loadConfig({ HTTPS_REQUIRED: 'true' }).httpsRequired).to.equal(true);
    expect(loadConfig({ HTTPS_REQUIRED: 'false' }).httpsRequired).to.equal(false);
    expect(loadConfig({ ...production, HTTPS_REQUIRED: ' ' }).httpsRequired).to.equal(true);
    for (const raw of ['yes', '0', 'TRUE', 'off']) {
      expect(configError({ HTTPS_REQUIRED: raw }).message).to.equal(
        `HTTPS_REQUIRED must be true or false (got ${JSON.stringify(raw)})`,
      );
    }
  });

  it('warns when production runs with HTTPS_REQUIRED=false (only in production: in development it is the default)', () => {
    const config = loadConfig({ ...production, HTTPS_REQUIRED: 'false' });
    expect(config.httpsRequired).to.equal(false);
    expect(config.warnings).to.deep.equal([
      'HTTPS_REQUIRED=false: plain HTTP is served in production, where passwords and tokens ' +
        'can be read by anyone on the network. Use it only for tests on a local machine.',
    ]);
    expect(
      loadConfig({ HTTPS_REQUIRED: 'false', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH }).warnings,
    ).to.deep.equal([]);
  });

  it('warns at start-up when HTTPS is required but no request could ever count as HTTPS (no TLS, no trusted proxy)', () => {
    expect(httpsUnreachable(loadConfig(production))).to.match(
      /^HTTPS is required, but the app serves no TLS \(TLS_CERT_FILE, TLS_KEY_FILE\) and trusts no TLS-terminating proxy \(TRUST_PROXY\): every request but GET \/health will be refused with 403$/,
    );
    expect(httpsUnreachable(loadConfig({ ...production, TRUST_PROXY: '1' }))).to.equal(undefined);
    expect(
      httpsUnreachable(
        loadConfig({ ...production, TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile }),
      ),
    ).to.equal(undefined);
    expect(httpsUnreachable(loadConfig({ ...production, HTTPS_REQUIRED: 'false' }))).to.equal(undefined);
    expect(httpsUnreachable(loadConfig({}))).to.equal(undefined);
  });

  it("reads TLS_CERT_FILE and TLS_KEY_FILE once, and the demo page's default origin becomes https", () => {
    const config = loadConfig({
      ...production,
      TLS_CERT_FILE: certificate.certFile,
      TLS_KEY_FILE: certificate.keyFile,
      PORT: '8443',
    });
    expect(config.tls?.cert.equals(certificate.cert)).to.equal(true);
    expect(config.tls?.key.equals(certificate.key)).to.equal(true);
    expect(config.publicOrigins).to.deep.equal(['https://localhost:8443']);
    expect(config.warnings).to.deep.equal([]);
  });

  it('refuses one TLS file without the other, an unreadable one, or a key of another certificate, naming the variable', () => {
    const missing = `${certificate.dir}/nope.pem`;
    const cases: Array<[env: Record<string, string>, message: RegExp]> = [
      [
        { TLS_CERT_FILE: certificate.certFile },
        /^TLS_KEY_FILE must be set too: TLS_CERT_FILE needs the private key of its certificate$/,
      ],
      [
        { TLS_KEY_FILE: certificate.keyFile },
        /^TLS_CERT_FILE must be set too: TLS_KEY_FILE is the key of the certificate in TLS_CERT_FILE$/,
      ],
      [
        { TLS_CERT_FILE: missing, TLS_KEY_FILE: certificate.keyFile },
        /^TLS_CERT_FILE cannot be read \(ENOENT\): ".*nope\.pem"$/,
      ],
      [{ TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: missing }, /^TLS_KEY_FILE cannot be read \(ENOENT\)/],
      [
        { TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.dir },
        /^TLS_KEY_FILE cannot be read \(EISDIR\)/,
      ],
      [
        { TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: other.keyFile },
        /^TLS_CERT_FILE and TLS_KEY_FILE must be a PEM certificate and its private key \(.*mismatch/,
      ],
      [
        { TLS_CERT_FILE: certificate.keyFile, TLS_KEY_FILE: certificate.certFile },
        /^TLS_CERT_FILE and TLS_KEY_FILE must be a PEM certificate and its private key/,
      ],
    ];
    for (const [env, message] of cases) {
      const error = configError({ ...production, ...env });
      expect(error.message, JSON.stringify(env)).to.match(message);
      expect(error.message).to.not.include('PRIVATE KEY');
    }
  });
});
