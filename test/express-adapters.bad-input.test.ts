/**
 * Every route of the Express adapters, on Express 5 and on Express 4, against
 * the bad-input tables of test/helpers/bad-input.ts: each bad header or body
 * gets its status, code and message, and leaves the session usable.
 */
import type { Server } from 'node:http';
import { expect } from 'chai';
import { MemorySessionStore, type TokenAuth, type TokenPair } from '../lib/index.js';
import { routes } from './helpers/bad-input.js';
import {
  clock,
  expectError,
  frameworks,
  http,
  resetTestState,
  sessionRequests,
  startApp,
  unexpected,
  type Kit,
} from './helpers/express-app.js';

for (const [frameworkName, framework] of frameworks) {
  describe(`Express adapters on ${frameworkName}`, function () {
    let store: MemorySessionStore;
    let auth: TokenAuth;
    let server: Server;

    before(function () {
      ({ store, auth, server } = startApp(framework));
    });

    after(function () {
      store.close();
    });

    beforeEach(resetTestState);

    const { newKit, refresh } = sessionRequests(() => ({ auth, server }));

    describe('bad input', function () {
      let kit: Kit;

      beforeEach(async function () {
        kit = await newKit();
      });

      for (const { method, path, rows } of routes) {
        for (const row of rows) {
          it(`${method.toUpperCase()} ${path} with ${row.name}: ${row.status} ${row.code}`, async function () {
            if (row.advance !== undefined) clock.advance(row.advance);
            const res = await row.send(http(server)[method](path), kit);
            expectError(res, row.status, row.code, row.message);
          });
        }
      }

      it('leaves a body that is not valid JSON to express.json(), which answers 400', async function () {
        for (const path of ['/refresh', '/logout']) {
          const res = await http(server).post(path).set('Content-Type', 'application/json').send('{"refreshToken": ');
          expect(res.status).to.equal(400);
          expect(unexpected).to.have.lengthOf(1);
          expect((unexpected[0] as { type?: string }).type).to.equal('entity.parse.failed');
          unexpected.length = 0;
        }
      });

      it('leaves the session usable after all of the above', async function () {
        for (const { method, path, rows } of routes) {
          for (const row of rows.filter((r) => r.advance === undefined)) {
            const res = await row.send(http(server)[method](path), kit);
            expect(res.status, `${path} ${row.name}`).to.equal(row.status);
          }
        }
        const res = await refresh(kit.pair.refreshToken).expect(200);
        expect((res.body as TokenPair).tokenType).to.equal('Bearer');
      });
    });
  });
}
