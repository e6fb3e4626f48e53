/**
 * What POST /graphql tells: no schema suggestions in production, so that the
 * schema stays as hidden as introspection being off makes it.
 */
import { expect } from 'chai';
import type { SampleApp } from '../sample-app/app.js';
import { bodyOf, gql, type GraphQLBody } from './helpers/graphql.js';
import { appFactory } from './helpers/sample-app.js';

/** A misspelled name, and the names graphql would suggest for it (quoted as its messages quote them). */
const PROBES: Array<[query: string, variables: Record<string, unknown> | undefined, suggested: string[]]> = [
  [
    'mutation { logn(data: { email: "a@example.com", password: "x" }) { accessToken } }',
    undefined,
    ['login', 'logout', 'logoutAll'],
  ],
  ['{ me { emial } }', undefined, ['email']],
  ['{ mee { id } }', undefined, ['me']],
  ['query($d: LoginInpt) { me { id } }', undefined, ['LoginInput']],
  ['mutation { login(data: { email: "a@example.com", password: "x" }, dta: 1) { accessToken } }', undefined, ['data']],
  [
    'mutation { login(data: { email: "a@example.com", password: "x", passwrd: "y" }) { accessToken } }',
    undefined,
    ['password'],
  ],
  [
    'mutation($d: LoginInput!) { login(data: $d) { accessToken } }',
    { d: { email: 'a@example.com', password: 'x', passwrd: 'y' } },
    ['password'],
  ],
];

function messagesOf(body: GraphQLBody): string {
  return (body.errors ?? []).map((error) => error.message).join('\n');
}

describe('sample app: POST /graphql in production names nothing the client did not', function () {
  this.timeout(60_000); // generous: many requests, and the machine may be busy
  const apps = appFactory(() => ({}));
  beforeEach(() => {
    apps.reset();
  });
  afterEach(() => apps.closeAll());

  async function productionApp(): Promise<SampleApp> {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      return await apps.make();
    } finally {
      if (previous === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = previous;
    }
  }

  it('answers a misspelled field, argument, type or input field without "Did you mean" or the name it would suggest', async () => {
    const production = await productionApp();
    for (const [query, variables, suggested] of PROBES) {
      const res = await gql(production, query, variables);
      const messages = messagesOf(bodyOf(res));
      expect(res.status, query).to.be.below(500);
      expect(messages, query).to.not.equal(''); // refused, with a reason
      expect(bodyOf(res).data ?? null, query).to.equal(null);
      expect(messages, query).to.not.match(/did you mean/i);
      for (const name of suggested) expect(messages, query).to.not.include(`"${name}"`);
    }
  });

  it('keeps the suggestions outside production, where they help', async () => {
    const development = await apps.make();
    for (const [query, variables, suggested] of PROBES) {
      const messages = messagesOf(bodyOf(await gql(development, query, variables)));
      expect(messages, query).to.match(/Did you mean/);
      expect(
        suggested.some((name) => messages.includes(`"${name}"`)),
        `${query}: ${messages}`,
      ).to.equal(true);
    }
  });
});
