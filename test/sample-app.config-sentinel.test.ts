/**
 * The sample app's Sentinel settings: REDIS_SENTINELS (host:port items) and
 * REDIS_SENTINEL_NAME, every spelling of an item, and the one-line
 * ConfigError naming the variable for each mistake.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../sample-app/config.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

const sentinelsOf = (value: string, name?: string): unknown =>
  loadConfig({ REDIS_SENTINELS: value, ...(name === undefined ? {} : { REDIS_SENTINEL_NAME: name }) }).redisSentinel;

describe('sample app configuration: REDIS_SENTINELS and REDIS_SENTINEL_NAME', () => {
  it('is absent when unset or blank, like every other Redis setting', () => {
    expect(loadConfig({})).not.to.have.property('redisSentinel');
    expect(loadConfig({ REDIS_SENTINELS: '  ' })).not.to.have.property('redisSentinel');
  });

  it('reads host:port items, the name defaulting to mymaster', () => {
    expect(sentinelsOf('sentinel-1:26379,10.0.0.2:26380')).to.deep.equal({
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
      ],
      name: 'mymaster',
    });
    expect(sentinelsOf('s1:1', ' cache-primary ')).to.deep.equal({
      sentinels: [{ host: 's1', port: 1 }],
      name: 'cache-primary',
    });
  });

  it('takes every spelling: spaces, empty items, no port (26379), IPv6 in brackets, a full host name', () => {
    const cases: Array<[string, Array<{ host: string; port: number }>]> = [
      [
        ' s1:26379 ,  s2:26380 ',
        [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
      ],
      [
        ',s1:1,,s2:2,',
        [
          { host: 's1', port: 1 },
          { host: 's2', port: 2 },
        ],
      ],
      ['s1', [{ host: 's1', port: 26379 }]],
      ['[::1]:26379', [{ host: '::1', port: 26379 }]],
      ['[::1]', [{ host: '::1', port: 26379 }]],
      [
        '[2001:db8::7]:26380, 127.0.0.1',
        [
          { host: '2001:db8::7', port: 26380 },
          { host: '127.0.0.1', port: 26379 },
        ],
      ],
      ['sentinel-1.cache.example.com:65535', [{ host: 'sentinel-1.cache.example.com', port: 65535 }]],
    ];
    for (const [value, sentinels] of cases) {
      expect(sentinelsOf(value), JSON.stringify(value)).to.deep.equal({ sentinels, name: 'mymaster' });
    }
  });

  it('refuses a bad item with one line naming the variable and quoting the item', () => {
    const bad = ['s1:', 's1:0', 's1:65536', 's1:port', 's1:26379:1', '::1', '[::1', '[10.0.0.1]:1', '[nope]:1'];
    bad.push('host_name:1', '999.1.1.1', '-s1:1', 's1 s2:1', 'redis://s1:26379', '[::1]:');
    for (const item of bad) {
      const message = configError({ REDIS_SENTINELS: `ok:1, ${item}` }).message;
      expect(message, item).to.equal(
        'REDIS_SENTINELS must be host:port items, comma-separated (port default 26379, IPv6 in brackets),' +
          ` e.g. sentinel-1:26379,[::1]:26379 (got ${JSON.stringify(item)})`,
      );
      expect(message, item).not.to.include('\n');
    }
    expect(configError({ REDIS_SENTINELS: ' , ,' }).message).to.equal(
      'REDIS_SENTINELS must name at least one Sentinel, e.g. sentinel-1:26379',
    );
  });

  it('refuses REDIS_SENTINELS together with REDIS_URL or REDIS_CLUSTER_URLS, and a name without Sentinels', () => {
    expect(configError({ REDIS_SENTINELS: 's1:26379', REDIS_URL: 'redis://localhost' }).message).to.equal(
      'set REDIS_SENTINELS or REDIS_URL, not both',
    );
    expect(configError({ REDIS_SENTINELS: 's1:26379', REDIS_CLUSTER_URLS: 'redis://10.0.0.1:6379' }).message).to.equal(
      'set REDIS_SENTINELS or REDIS_CLUSTER_URLS, not both',
    );
    expect(configError({ REDIS_SENTINEL_NAME: 'mymaster' }).message).to.equal(
      'REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not',
    );
    // Blank means unset, as everywhere: no conflict.
    expect(loadConfig({ REDIS_SENTINELS: 's1', REDIS_URL: ' ' }).redisSentinel?.sentinels).to.have.length(1);
  });

  it('refuses a name with spaces or control characters', () => {
    for (const name of ['my master', 'a\tb', 'é', 'x'.repeat(256)]) {
      expect(configError({ REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: name }).message, name).to.match(
        /^REDIS_SENTINEL_NAME must be the master's name as the Sentinels know it: printable, no spaces \(got ".*"\)$/,
      );
    }
  });

  it('reads back any list of addresses, however it is spaced and padded with empty items', () => {
    const host = fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.ipV6().map((v6) => `[${v6}]`),
    );
    const item = fc.record({ host, port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }) });
    const pad = fc.constantFrom('', ' ', '  ', ', ', ' ,', ',,');
    fc.assert(
      fc.property(fc.array(fc.tuple(item, pad, pad), { minLength: 1, maxLength: 5 }), (items) => {
        const value = items
          .map(([i, a, b]) => `${a}${i.host}${i.port === undefined ? '' : `:${i.port}`}${b}`)
          .join(',');
        const parsed = loadConfig({ REDIS_SENTINELS: value }).redisSentinel;
        expect(parsed?.sentinels, value).to.deep.equal(
          items.map(([i]) => ({ host: i.host.replace(/^\[|\]$/g, ''), port: i.port ?? 26379 })),
        );
      }),
    );
  });
});
