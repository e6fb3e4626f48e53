/**
 * One contender of the guard section: the same Express 5 app, the same
 * `GET /me` answering `{"ok":true}`, guarded by one library (or by nothing,
 * for bare Express). Each library is set up the way its README shows.
 * With `revocation`, requireAccessToken also checks revocations
 * (`checkRevocation`), following the record of a RedisSessionStore.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { expressjwt } from 'express-jwt';
import passport from 'passport';
import passportJwt from 'passport-jwt';
import { createClient } from 'redis';
import { RedisSessionStore, requireAccessToken, type TokenAuth } from '../../lib/index.js';
import { tokenAuthFor, type AccessKeys } from '../keys.js';
import { serve, serverConfig } from './serve.js';

export type GuardKind = 'bare' | 'requireAccessToken' | 'express-jwt' | 'passport-jwt';

export interface GuardServerConfig {
  kind: GuardKind;
  keys: AccessKeys;
  refreshSecret: string;
  /** requireAccessToken only: check revocations, following this Redis's record under `prefix`. */
  revocation?: { redisUrl: string; prefix: string } | undefined;
}

/** The core of a checkRevocation contender, caught up with the record before the server listens. */
async function revocationAuth(
  config: GuardServerConfig,
  revocation: { redisUrl: string; prefix: string },
): Promise<TokenAuth> {
  const client = createClient({ url: revocation.redisUrl, disableOfflineQueue: true });
  client.on('error', (error: Error) => {
    console.error(`guard server: Redis: ${error.message}`);
  });
  await client.connect();
  const auth = tokenAuthFor(
    config.keys,
    config.refreshSecret,
    undefined,
    new RedisSessionStore({ client, prefix: revocation.prefix }),
  );
  await auth.watchRevocations();
  return auth;
}

function guard({ kind, keys, refreshSecret }: GuardServerConfig, revoking: TokenAuth | undefined): RequestHandler[] {
  switch (kind) {
    case 'bare':
      return [];
    case 'requireAccessToken':
      return revoking
        ? [requireAccessToken(revoking, { checkRevocation: true })]
        : [requireAccessToken(tokenAuthFor(keys, refreshSecret))];
    case 'express-jwt':
      return [expressjwt({ secret: keys.verifyingKey, algorithms: [keys.algorithm] })];
    case 'passport-jwt': {
      const { Strategy, ExtractJwt } = passportJwt;
      passport.use(
        new Strategy(
          {
            jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
            secretOrKey: keys.verifyingKey,
            algorithms: [keys.algorithm],
          },
          (payload: unknown, done: (error: unknown, user: unknown) => void) => {
            done(null, payload);
          },
        ),
      );
      return [passport.authenticate('jwt', { session: false }) as RequestHandler];
    }
  }
}

const config = serverConfig() as GuardServerConfig;
const revoking = config.revocation ? await revocationAuth(config, config.revocation) : undefined;
const app = express();
app.get('/me', ...guard(config, revoking), (_req, res) => {
  res.json({ ok: true });
});
// express-jwt passes its 401 on as an error: answer it quietly (Express's default logs a stack trace).
const errors: ErrorRequestHandler = (error: { status?: unknown }, _req, res, _next) => {
  res.status(typeof error.status === 'number' ? error.status : 500).json({ error: 'unauthorized' });
};
app.use(errors);
serve(app, () => ({ revocationViewSize: revoking?.revocationViewSize ?? 0 }));
