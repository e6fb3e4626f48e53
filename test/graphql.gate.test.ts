/**
 * POST /graphql has one way in (sample-app/graphql/http.ts): the route reads
 * the body itself, under its byte cap, and only an `application/json` body
 * reaches the limits, the rate limiters and graphql-http. Every other
 * spelling of the media type, including those graphql-http's own parser
 * would take, is refused before anything runs.
 */
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import request from 'supertest';
import type { OutgoingHttpHeaders } from 'node:http';
import type { SampleApp } from '../sample-app/app.js';
import { MemoryUserStore } from '../sample-app/users.js';
import { flood, gqlRegister, listen, rawPost, REGISTER, type RawAnswer } from './helpers/graphql.js';
import { appFactory, email, PASSWORD } from './helpers/sample-app.js';

const LOGIN_ATTEMPT = JSON.stringify({
  query: 'mutation($d: LoginInput!) { login(data: $d) { accessToken } }',
  variables: { d: { email: 'nobody@example.com', password: 'not the password' } },
});

/** The GraphQL-shaped refusal every non-GraphQL answer of the route has: `[code, status]`. */
function refusal(answer: RawAnswer): [string | undefined, number | undefined] {
  expect(answer.body, answer.text).to.have.all.keys('errors');
  const [error, ...rest] = answer.body?.errors ?? [];
  expect(rest).to.deep.equal([]);
  expect(error?.message).to.be.a('string').and.not.equal('');
  return [error?.extensions?.code, error?.extensions?.status];
}

describe('sample app: POST /graphql reads its own body (one parse path)', function () {
  this.timeout(60_000); // generous: many requests, and the machine may be busy
  const apps = appFactory(() => ({}));
  let app: SampleApp;
  let server: { port: number; close: () => Promise<void> };
  /** findByEmail calls: a login or register resolver ran. */
  let lookups = 0;

  beforeEach(async () => {
    apps.reset();
    lookups = 0;
    const users = new MemoryUserStore();
    const find = users.findByEmail.bind(users);
    users.findByEmail = (address) => {
      lookups += 1;
      return find(address);
    };
    app = await apps.make({ users });
    server = await listen(app);
  });
  afterEach(async () => {
    await server.close();
    await apps.closeAll();
  });

  it('runs application/json (any case, OWS, charset=utf-8 at most) and answers 415 to every other spelling, running nothing', async () => {
    const accepted = [
      'application/json',
      'Application/JSON',
      'application/json;charset=utf-8',
      'application/json; charset=UTF-8',
      'application/json ;\tcharset="utf-8"',
      'APPLICATION/JSON; CHARSET=Utf-8',
    ];
    for (const type of accepted) {
      const address = email();
      const res = await rawPost(
        server.port,
        { 'Content-Type': type },
        JSON.stringify({ query: REGISTER, variables: { data: { email: address, password: PASSWORD } } }),
      );
      expect(res.status, type).to.equal(200);
      expect(res.body?.data?.register, `${type}: ${res.text}`).to.deep.include({ email: address });
    }
    const refused: Array<string | string[] | undefined> = [
      // graphql-http's own parser takes all of these (it deletes whitespace and ignores the case):
      'application/ json',
      'application /json',
      'app lication/json',
      'application/json;charset=utf-8;',
      'application/json; charset = utf-8',
      // and these are what express.json takes but this route does not:
      'application/json;foo=bar',
      'application/json; charset=utf-8; foo=bar',
      'application/json;',
      'application/json, text/plain',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/vnd.api+json',
      'application/*',
      '*/*',
      'application/graphql',
      'application/graphql-response+json',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'json',
      '',
      undefined,
    ];
    for (const type of refused) {
      const address = email();
      const body = JSON.stringify({ query: REGISTER, variables: { data: { email: address, password: PASSWORD } } });
      const res = await rawPost(server.port, type === undefined ? {} : { 'Content-Type': type }, body);
      expect(res.status, String(type)).to.equal(415);
      expect(refusal(res), String(type)).to.deep.equal(['unsupported_media_type', 415]);
      expect(res.headers['cache-control']).to.equal('no-store');
      await gqlRegister(app, address); // the refused request registered nothing
    }
    expect(lookups).to.equal(0); // register claims the email without a lookup; no login ran either
  });

  it('property: every Content-Type spelling is either refused (4xx, nothing run) or counted by the login limiter', async function () {
    this.timeout(120_000);
    /** `word` in a random mix of upper and lower case. */
    const anyCase = (word: string): fc.Arbitrary<string> =>
      fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((upper) =>
        word
          .split('')
          .map((char, i) => (upper[i] === true ? char.toUpperCase() : char))
          .join(''),
      );
    /** Mostly the right word in any case, sometimes one of `others`. */
    const mostly = (word: string, others: string[]): fc.Arbitrary<string> =>
      fc.oneof({ weight: 4, arbitrary: anyCase(word) }, { weight: 1, arbitrary: fc.constantFrom(...others) });
    const ows = fc.oneof(
      { weight: 5, arbitrary: fc.constant('') },
      { weight: 2, arbitrary: fc.constantFrom(' ', '\t', '  ', ' \t') },
    );
    const param = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.tuple(anyCase('charset'), anyCase('utf-8')).map(([name, value]) => `${name}=${value}`),
      },
      { weight: 1, arbitrary: anyCase('charset="utf-8"') },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'charset=utf8',
          'charset=utf-16',
          'charset = utf-8',
          'charset=',
          'foo=bar',
          'boundary=x',
          '',
          'q=1',
          'charset=utf-8;charset=latin1',
          'charset=utf-8,text/plain',
        ),
      },
    );
    const spelling = fc
      .record({
        type: mostly('application', ['text', 'applicat ion', '', 'application2', '*']),
        sub: mostly('json', [
          'jso n',
          'graphql',
          'graphql-response+json',
          'json+x',
          'x-json',
          '*',
          '',
          'json, text/plain',
        ]),
        around: fc.array(ows, { minLength: 5, maxLength: 5 }),
        params: fc.array(param, { maxLength: 2 }),
        trailing: fc.boolean(),
      })
      .map(
        ({ type, sub, around, params, trailing }) =>
          `${around[0]}${type}${around[1]}/${around[2]}${sub}${params
            .map((p) => `${around[3]};${around[4]}${p}`)
            .join('')}${trailing ? ';' : ''}`,
      );
    const header: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
      { weight: 8, arbitrary: spelling },
      { weight: 1, arbitrary: fc.array(spelling, { minLength: 2, maxLength: 3 }) }, // the header sent more than once
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
    let executed = 0;
    await fc.assert(
      fc.asyncProperty(header, async (type) => {
        const headers: OutgoingHttpHeaders = type === undefined ? {} : { 'Content-Type': type };
        const before = lookups;
        const res = await rawPost(server.port, headers, LOGIN_ATTEMPT);
        expect(res.status, res.text).to.be.below(500);
        if (lookups === before) {
          // Refused: a 4xx in the GraphQL shape, and no resolver ran.
          expect(res.status, res.text).to.be.within(400, 499);
          expect(res.body, res.text).to.have.all.keys('errors');
        } else {
          // Ran: exactly one login, and the login limiter counted it.
          expect(lookups - before).to.equal(1);
          expect(res.headers.ratelimit, `${JSON.stringify(type)} ran without being counted`).to.match(
            /^"login"; r=\d+; t=\d+$/,
          );
          executed += 1;
        }
      }),
      { numRuns: 150 },
    );
    expect(executed).to.be.above(0); // the generator does reach the accepted spellings
  });

  it('cuts off a body over 16 kB however it is typed, without reading it to the end, and stays up', async function () {
    this.timeout(120_000);
    const total = 50 * 1024 * 1024;
    const cases: Array<[headers: OutgoingHttpHeaders, status: number]> = [
      [{ 'Content-Type': 'application/json' }, 413],
      [{ 'Content-Type': 'application/json', 'Content-Length': total }, 413],
      [{ 'Content-Type': 'application/ json' }, 415],
      [{ 'Content-Type': 'application/ json', 'Content-Length': total }, 415],
      [{ 'Content-Type': 'text/plain' }, 415],
      [{}, 415],
    ];
    for (const [headers, status] of cases) {
      const result = await flood(server.port, headers, total);
      const label = JSON.stringify(headers);
      expect(result.status, `${label}: ${result.text}`).to.equal(status);
      // The server answered and closed long before the body's end: kernel buffers hold a few MB at most.
      expect(result.writtenWhenAnswered, label).to.be.below(total / 2);
      expect(result.finished, label).to.equal(false);
      const answer = await rawPost(
        server.port,
        { 'Content-Type': 'application/json' },
        JSON.stringify({ query: '{ __typename }' }),
      );
      expect(answer.body).to.deep.equal({ data: { __typename: 'Query' } });
    }
  });

  it('answers 413 to a declared length over 16 kB before any of the body arrives', async () => {
    for (const type of ['application/json', 'application/ json; charset=utf-8']) {
      const result = await flood(server.port, { 'Content-Type': type, 'Content-Length': 16 * 1024 + 1 }, 16 * 1024 + 1);
      expect(result.status, type).to.be.oneOf([413, 415]);
    }
    const atLimit = JSON.stringify({ query: '{ __typename }' }).padEnd(16 * 1024, ' ');
    expect((await rawPost(server.port, { 'Content-Type': 'application/json' }, atLimit)).body).to.deep.equal({
      data: { __typename: 'Query' },
    });
    const over = await rawPost(server.port, { 'Content-Type': 'application/json' }, `${atLimit} `);
    expect(over.status).to.equal(413);
    expect(refusal(over)).to.deep.equal(['payload_too_large', 413]);
  });

  it('refuses a body that is not one JSON object of GraphQL parameters with 400 (415 for a content encoding), GraphQL-shaped', async () => {
    const json = { 'Content-Type': 'application/json' };
    const bad: Array<[headers: OutgoingHttpHeaders, body: string | Buffer, code: string, status: number]> = [
      [json, '', 'invalid_request', 400],
      [json, '{"query": "{ __typename }"', 'invalid_request', 400],
      [json, Buffer.from([0x7b, 0x22, 0x71, 0xff, 0xfe, 0x22, 0x7d]), 'invalid_request', 400], // not UTF-8
      [json, '[{"query": "{ __typename }"}]', 'invalid_request', 400], // a batch
      [json, '"{ __typename }"', 'invalid_request', 400],
      [json, 'null', 'invalid_request', 400],
      [json, '{}', 'invalid_request', 400],
      [json, '{"query": 1}', 'invalid_request', 400],
      [json, '{"query": "{ __typename }", "variables": [1]}', 'invalid_request', 400],
      [json, '{"query": "{ __typename }", "variables": "{}"}', 'invalid_request', 400],
      [json, '{"query": "{ __typename }", "operationName": 7}', 'invalid_request', 400],
      [json, '{"query": "{ __typename }", "extensions": "x"}', 'invalid_request', 400],
      [json, `${'['.repeat(8000)}${']'.repeat(8000)}`, 'invalid_request', 400],
      [{ ...json, 'Content-Encoding': 'gzip' }, gzipSync('{"query": "{ __typename }"}'), 'unsupported_media_type', 415],
      [{ ...json, 'Content-Encoding': 'deflate' }, '{"query": "{ __typename }"}', 'unsupported_media_type', 415],
    ];
    for (const [headers, body, code, status] of bad) {
      const res = await rawPost(server.port, headers, body);
      const label = `${JSON.stringify(headers)} ${String(body).slice(0, 40)}`;
      expect(res.status, `${label}: ${res.text}`).to.equal(status);
      expect(refusal(res), label).to.deep.equal([code, status]);
    }
    const fine = await rawPost(
      server.port,
      { ...json, 'Content-Encoding': 'identity' },
      '\uFEFF{"query": "query Q { __typename }", "operationName": "Q", "variables": null, "extensions": {}}',
    );
    expect(fine.body, fine.text).to.deep.equal({ data: { __typename: 'Query' } });
  });

  it('runs nothing from a URL: GET (and every method but POST) is 405 whatever its query string', async () => {
    const address = email();
    const register = `mutation { register(data: { email: "${address}", password: "${PASSWORD}" }) { id } }`;
    for (const method of ['get', 'put', 'patch', 'delete'] as const) {
      const url = `/graphql?query=${encodeURIComponent(register)}`;
      const res = await request(app.app)[method](url).set('Content-Type', 'application/json');
      expect(res.status, method).to.equal(405);
      expect(res.headers.allow).to.equal('POST');
    }
    const viaGet = await request(app.app).get(`/graphql?query=${encodeURIComponent('{ __typename }')}`);
    expect(viaGet.status).to.equal(405);
    await gqlRegister(app, address); // nothing registered it
  });

  it("answers graphql-http's own refusals (406 for an Accept it cannot meet) in the same shape", async () => {
    const res = await rawPost(
      server.port,
      { 'Content-Type': 'application/json', Accept: 'text/html' },
      JSON.stringify({ query: '{ __typename }' }),
    );
    expect(res.status).to.equal(406);
    expect(refusal(res)).to.deep.equal(['not_acceptable', 406]);
    const wanted = await rawPost(
      server.port,
      { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json' },
      JSON.stringify({ query: '{ __typename }' }),
    );
    expect(wanted.headers['content-type']).to.equal('application/graphql-response+json; charset=utf-8');
    expect(wanted.body).to.deep.equal({ data: { __typename: 'Query' } });
  });
});
