import { expect } from 'chai';
import { ConfigError, loadConfig, parseTrustProxy } from '../sample-app/config.js';

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
      port: 3000, redisUrl: undefined, accessTokenTtl: 900, refreshTokenTtl: 7 * 86_400, reuseGrace: 5,
      loginRateLimit: 10, refreshRateLimit: 30, trustProxy: false,
    });
    expect(Buffer.byteLength(config.accessTokenSecret)).to.be.at.least(32);
    expect(config.refreshTokenSecret).to.not.equal(config.accessTokenSecret);
    expect(loadConfig({}).accessTokenSecret).to.not.equal(config.accessTokenSecret);
    expect(config.warnings).to.have.length(2);
    expect(config.warnings[0]).to.match(/^ACCESS_TOKEN_SECRET is not set: using a random secret/);
    expect(config.warnings[1]).to.match(/^REFRESH_TOKEN_SECRET is not set/);
  });

  it('reads every variable, durations as seconds or 15m/7d strings, 0 turning a limit off', () => {
    const config = loadConfig({
      PORT: '8080', REDIS_URL: 'redis://localhost:6379', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH,
      ACCESS_TOKEN_TTL: '5m', REFRESH_TOKEN_TTL: '86400', REFRESH_REUSE_GRACE: '0',
      LOGIN_RATE_LIMIT: '0', REFRESH_RATE_LIMIT: '100', TRUST_PROXY: '1', NODE_ENV: 'production',
    });
    expect(config).to.deep.equal({
      port: 8080, redisUrl: 'redis://localhost:6379', accessTokenSecret: ACCESS, refreshTokenSecret: REFRESH,
      accessTokenTtl: 300, refreshTokenTtl: 86_400, reuseGrace: 0, loginRateLimit: 0, refreshRateLimit: 100,
      trustProxy: 1, warnings: [],
    });
    expect(loadConfig({ REDIS_URL: '', PORT: ' ', ACCESS_TOKEN_TTL: '2h' })).to.include({ redisUrl: undefined, port: 3000, accessTokenTtl: 7200 });
  });

  it('refuses to start in production without both secrets', () => {
    expect(configError({ NODE_ENV: 'production' }).message)
      .to.match(/^ACCESS_TOKEN_SECRET is required when NODE_ENV=production; generate one with/);
    expect(configError({ NODE_ENV: 'production', ACCESS_TOKEN_SECRET: ACCESS }).message)
      .to.match(/^REFRESH_TOKEN_SECRET is required when NODE_ENV=production/);
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
      [{ REFRESH_TOKEN_TTL: '60', REFRESH_REUSE_GRACE: '60' }, /^REFRESH_REUSE_GRACE \(60s\) must be shorter than REFRESH_TOKEN_TTL \(60s\)$/],
      [{ ACCESS_TOKEN_SECRET: short }, /^ACCESS_TOKEN_SECRET must be at least 32 bytes \(got 16\)/],
      [{ ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: short }, /^REFRESH_TOKEN_SECRET must be at least 32 bytes/],
      [{ ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: ACCESS }, /^ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must differ$/],
      [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ REDIS_URL: 'http://user:hunter2@cache:6379' }, /^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ TRUST_PROXY: 'true' }, /^TRUST_PROXY=true would let any client choose its IP address/],
      [{ TRUST_PROXY: 'loopback, nginx' }, /^TRUST_PROXY must be .* \(got "nginx"\)$/],
    ];
    for (const [env, message] of cases) {
      const error = configError(env);
      expect(error.message, JSON.stringify(env)).to.match(message);
      for (const hidden of [short, ACCESS, 'hunter2']) expect(error.message).to.not.include(hidden);
    }
  });

  it('reads TRUST_PROXY as off, a hop count, or a list of addresses and subnets', () => {
    const cases: Array<[raw: string | undefined, expected: unknown]> = [
      [undefined, false], ['false', false], ['0', false], ['2', 2],
      ['loopback', ['loopback']], ['10.0.0.0/8, 192.168.1.5 ,::1', ['10.0.0.0/8', '192.168.1.5', '::1']],
    ];
    for (const [raw, expected] of cases) expect(parseTrustProxy(raw), raw).to.deep.equal(expected);
  });
});
