import { expect } from 'chai';
import request from 'supertest';
import { createApp } from '../sample-app/app.js';
import type { UserStore } from '../sample-app/users.js';
import { appFactory, describeFlows, email, PASSWORD, SECRETS, signUp } from './helpers/sample-app.js';

describe('sample app, in memory', () => {
  describe('end to end', () => {
    describeFlows('memory', () => ({}));
  });

  describe('memory only', () => {
    const apps = appFactory(() => ({}));
    beforeEach(() => { apps.reset(); });
    afterEach(() => apps.closeAll());

    it('answers a bug with a bare 500 JSON and logs the details instead', async () => {
      const broken: UserStore = {
        create: async () => true,
        findByEmail: async () => { throw new Error('database password is hunter2'); },
      };
      const sample = await apps.make({ users: broken });
      const res = await request(sample.app).post('/auth/login').send({ email: email(), password: PASSWORD });
      expect(res.status).to.equal(500);
      expect(res.body).to.deep.equal({ error: 'internal_error', message: 'something went wrong' });
      expect(res.text).to.not.include('hunter2');
      const logged = apps.logs.filter((line) => line.level === 'error');
      expect(logged).to.have.length(1);
      expect(logged[0]?.text).to.include('unexpected error on POST /auth/login').and.include('hunter2');
    });

    it('takes about as long for an unknown email as for a wrong password (a dummy bcrypt hash)', async function () {
      this.timeout(20_000);
      // Real cost: at 10 one bcrypt comparison takes tens of milliseconds; skipping it would take ~1 ms.
      const sample = await apps.make({ bcryptCost: 10 });
      const address = email();
      await signUp(sample, address);
      const time = async (who: string): Promise<number> => {
        const start = process.hrtime.bigint();
        const res = await request(sample.app).post('/auth/login').send({ email: who, password: 'wrong password' });
        expect(res.status).to.equal(401);
        return Number(process.hrtime.bigint() - start) / 1e6;
      };
      const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
      const wrong: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        wrong.push(await time(address));
        unknown.push(await time(email('nobody')));
      }
      const ratio = median(unknown) / median(wrong);
      expect(ratio, `unknown ${median(unknown)} ms, wrong ${median(wrong)} ms`).to.be.within(0.5, 2);
    });

    it('ignores X-Forwarded-For by default, so a client cannot dodge the limit by inventing addresses', async () => {
      const sample = await apps.make({ loginRateLimit: 2 });
      const statuses: number[] = [];
      for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
        const res = await request(sample.app).post('/auth/login').set('X-Forwarded-For', ip)
          .send({ email: email(), password: PASSWORD });
        statuses.push(res.status);
      }
      expect(statuses).to.deep.equal([401, 401, 429]);
      // express-rate-limit tells the operator the header is there but not trusted.
      expect(apps.logs.some((line) => line.level === 'warn' && line.text.includes('ERR_ERL_UNEXPECTED_X_FORWARDED_FOR'))).to.equal(true);
    });

    it('counts each client behind a trusted proxy separately (trustProxy: 1)', async () => {
      const sample = await apps.make({ loginRateLimit: 2, trustProxy: 1 });
      const statuses: number[] = [];
      for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.1', '203.0.113.2', '203.0.113.1']) {
        const res = await request(sample.app).post('/auth/login').set('X-Forwarded-For', ip)
          .send({ email: email(), password: PASSWORD });
        statuses.push(res.status);
      }
      expect(statuses).to.deep.equal([401, 401, 401, 401, 429]);
    });

    it('refuses bad options naming them', async () => {
      const cases: Array<[options: Record<string, unknown>, message: RegExp]> = [
        [{ bcryptCost: 3 }, /createApp: bcryptCost must be a whole number from 4 to 15 \(got 3\)/],
        [{ loginRateLimit: -1 }, /createApp: loginRateLimit must be a whole number/],
        [{ refreshRateLimit: 1.5 }, /createApp: refreshRateLimit must be a whole number/],
        [{ redis: {} }, /createApp: redis needs either client or url/],
        [{ refreshTokenSecret: 'short' }, /express-token-pair: refreshToken.secret must be at least 32 bytes/],
        [{ reuseGrace: -1 }, /express-token-pair: refreshToken.reuseGrace/],
      ];
      for (const [options, message] of cases) {
        let error: unknown;
        try {
          const sample = await createApp({ ...SECRETS, bcryptCost: 4, ...options });
          await sample.close();
        } catch (caught) {
          error = caught;
        }
        expect(error, JSON.stringify(options)).to.be.instanceOf(TypeError);
        expect((error as Error).message).to.match(message);
      }
    });
  });
});
