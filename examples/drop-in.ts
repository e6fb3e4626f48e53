// A complete server: login, /me, refresh, logout, logout-all. Copy it and
// replace checkPassword with your own. ESM ("type": "module") for the
// top-level await; Node 20.19+; Express 4 or 5. Run it with
//   ACCESS_TOKEN_SECRET=… REFRESH_TOKEN_SECRET=… REDIS_URL=redis://… PORT=3000
import express, { type ErrorRequestHandler } from 'express';
import { createClient } from 'redis';
import {
  createTokenAuth, RedisSessionStore, requireAccessToken, refreshHandler, logoutHandler, sendError,
} from 'express-token-pair';
import { checkPassword } from './users.js'; // your own login check

const redis = createClient({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  disableOfflineQueue: true, // while Redis is down, fail at once (503) instead of queueing
  // After a lost connection, retry forever: 50 ms, 100 ms, ... then every 2 s.
  socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
});
// Without an 'error' listener, the first lost connection would kill the process.
redis.on('error', (error: Error) => { console.error(`Redis: ${error.message}`); });
await redis.connect();

const auth = createTokenAuth({
  // Random, at least 32 bytes, different from each other: openssl rand -base64 48
  accessToken: { secret: process.env.ACCESS_TOKEN_SECRET, ttl: '15m' },
  refreshToken: { secret: process.env.REFRESH_TOKEN_SECRET, ttl: '7d' },
  store: new RedisSessionStore({ client: redis }), // or new MemorySessionStore()
});

const app = express();
app.use(express.json({ limit: '10kb' }));

app.post('/auth/login', async (req, res, next) => {
  // Catch here: Express 4 does not catch a rejected promise (the process would die).
  try {
    // Read before the password hash: a password change after this moment refuses the login.
    const authenticatedAt = auth.now();
    const user = await checkPassword(req.body);
    if (!user) {
      res.status(401).json({ error: 'invalid_credentials' });
      return;
    }
    const pair = await auth.issue({
      userId: user.id,
      claims: { role: user.role },                            // copied into every access token
      meta: { ip: req.ip, userAgent: req.get('user-agent') }, // kept with the session
      authenticatedAt,                                        // 401 credentials_changed if it is stale
    });
    // { accessToken, refreshToken, tokenType: 'Bearer', expiresIn }; never cached.
    res.set('Cache-Control', 'no-store').json(pair);
  } catch (error) {
    sendError(error, res, next); // Redis down: 503 store_unavailable, Retry-After; others: next()
  }
});

app.get('/me', requireAccessToken(auth), (req, res) => {
  res.json(req.auth); // { userId, sessionId, claims }, from the token alone: no Redis needed
});
app.post('/auth/refresh', refreshHandler(auth));                 // { refreshToken } -> new pair
app.post('/auth/logout', logoutHandler(auth));                   // { refreshToken } -> 204
app.post('/auth/logout-all', requireAccessToken(auth), logoutHandler(auth, { all: true })); // -> 204

// Last: any other error as JSON, never an HTML stack trace.
const onError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  const status = error instanceof Error && 'status' in error ? error.status : 500;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    res.status(status).json({ error: 'invalid_request' }); // e.g. malformed JSON, body too large
  } else {
    console.error(error);
    res.status(500).json({ error: 'internal_error' });
  }
};
app.use(onError);

const port = Number(process.env.PORT ?? 3000);
app.listen(port, (error?: Error) => {
  if (error) throw error; // port in use... (Express 5 reports it here; Express 4 throws by itself)
  console.log(`Listening on http://localhost:${port}`);
});
