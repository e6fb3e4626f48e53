/**
 * Login section: the sample app under a storm of `POST /auth/login` (bcrypt
 * at the app's cost), while this process asks `GET /health` every 20 ms. If
 * hashing held the event loop, /health would wait behind it: its latency
 * during the storm, against its latency at rest, is the verdict.
 */
import { USER_AGENTS } from '../fixtures.js';
import { randomSecret } from '../keys.js';
import { load, type LoadResult } from '../load.js';
import type { BenchOptions } from '../options.js';
import { startRedis, startServer, type PrivateRedis, type ServerHandle } from '../processes.js';
import { row, type Row } from '../report/rows.js';
import type { SectionOutput } from '../report/section-output.js';
import type { Table } from '../report/table.js';
import type { LoginServerConfig } from '../servers/login.js';
import { fixed, latencyOf, type Latency } from '../stats.js';

/** /health p99 during the storm at most this many ms: the event loop kept turning. */
export const LOGIN_TARGET = { healthP99Ms: 50 } as const;

const POLL_EVERY_MS = 20;
const EMAIL = 'bench-user@example.com';
const PASSWORD = 'correct horse battery staple';

export interface HealthSamples extends Latency {
  count: number;
  /** Answers other than 200. */
  failed: number;
}

export interface LoginData {
  bcryptCost: number;
  connections: number;
  duration: number;
  login: LoadResult;
  healthIdle: HealthSamples;
  healthDuringStorm: HealthSamples;
  /** The server's own event-loop delay during the storm (monitorEventLoopDelay), ms. */
  loopDelay: { p50: number; p99: number; max: number };
  wrongPasswordStatus: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function post(url: string, body: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENTS[0] },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** GET /health every POLL_EVERY_MS until `until` settles (or for `ms` when a number). */
async function pollHealth(url: string, until: Promise<unknown> | number): Promise<HealthSamples> {
  let done = false;
  if (typeof until === 'number')
    setTimeout(() => {
      done = true;
    }, until);
  else
    void until.finally(() => {
      done = true;
    });
  const times: number[] = [];
  let failed = 0;
  while (!done) {
    const start = performance.now();
    const response = await fetch(`${url}/health`);
    await response.arrayBuffer();
    const took = performance.now() - start;
    times.push(took);
    if (response.status !== 200) failed++;
    await sleep(Math.max(0, POLL_EVERY_MS - took));
  }
  return { ...latencyOf(times), count: times.length, failed };
}

export async function loginSection(options: BenchOptions): Promise<SectionOutput<LoginData>> {
  let redis: PrivateRedis | undefined;
  let server: ServerHandle | undefined;
  try {
    redis = await startRedis();
    const config: LoginServerConfig = {
      redisUrl: redis.url,
      bcryptCost: options.bcryptCost,
      accessSecret: randomSecret(),
      refreshSecret: randomSecret(),
    };
    server = await startServer('login', config, 'login sample app');
    const registered = await post(`${server.url}/auth/register`, { email: EMAIL, password: PASSWORD });
    if (registered.status !== 201)
      throw new Error(`bench: register answered ${registered.status} ${JSON.stringify(registered.body)}`);
    const good = await post(`${server.url}/auth/login`, { email: EMAIL, password: PASSWORD });
    if (good.status !== 200 || typeof good.body.accessToken !== 'string') {
      throw new Error(`bench: login answered ${good.status} ${JSON.stringify(good.body)}`);
    }
    const wrong = await post(`${server.url}/auth/login`, { email: EMAIL, password: `${PASSWORD}!` });

    const healthIdle = await pollHealth(server.url, 1000);
    process.stderr.write(
      `login: storm of ${options.loginDuration} s, ${options.loginConnections} connections, bcrypt cost ${options.bcryptCost}\n`,
    );
    await server.counters(); // resets the server's event-loop delay histogram
    const storm = load({
      url: `${server.url}/auth/login`,
      connections: options.loginConnections,
      duration: options.loginDuration,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENTS[0] },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    const healthDuringStorm = await pollHealth(server.url, storm);
    const loop = await server.counters();
    const data: LoginData = {
      bcryptCost: options.bcryptCost,
      connections: options.loginConnections,
      duration: options.loginDuration,
      login: await storm,
      healthIdle,
      healthDuringStorm,
      loopDelay: { p50: loop.loopDelayP50Ms!, p99: loop.loopDelayP99Ms!, max: loop.loopDelayMaxMs! },
      wrongPasswordStatus: wrong.status,
    };
    return { tables: tables(data), targets: targets(data), data };
  } finally {
    await server?.stop();
    await redis?.stop();
  }
}

const health = (h: HealthSamples): string => `${fixed(h.p50, 1)} / ${fixed(h.p99, 1)} / ${fixed(h.max, 1)}`;

function tables(data: LoginData): Table[] {
  const { login } = data;
  return [
    {
      title: `Login storm: sample app, bcrypt cost ${data.bcryptCost}, ${data.connections} connections for ${data.duration} s, GET /health every ${POLL_EVERY_MS} ms meanwhile`,
      head: ['measure', 'value'],
      rows: [
        ['POST /auth/login req/s', fixed(login.rps, 1)],
        ['login p50 / p99 ms', `${fixed(login.latency.p50, 1)} / ${fixed(login.latency.p99, 1)}`],
        ['logins answered 200 / other / errors', `${login.ok} / ${login.non2xx} / ${login.errors}`],
        ['GET /health at rest, p50 / p99 / max ms', `${health(data.healthIdle)} (${data.healthIdle.count} polls)`],
        [
          'GET /health during the storm, p50 / p99 / max ms',
          `${health(data.healthDuringStorm)} (${data.healthDuringStorm.count} polls, ${data.healthDuringStorm.failed} not 200)`,
        ],
        [
          'server event-loop delay during the storm, p50 / p99 / max ms',
          `${fixed(data.loopDelay.p50, 1)} / ${fixed(data.loopDelay.p99, 1)} / ${fixed(data.loopDelay.max, 1)}`,
        ],
      ],
    },
  ];
}

function targets(data: LoginData): Row[] {
  const h = data.healthDuringStorm;
  const clean = data.login.non2xx + data.login.errors === 0 && h.failed === 0;
  return [
    row(
      'login',
      `login req/s at bcrypt cost ${data.bcryptCost} (p50 / p99 ms)`,
      `${fixed(data.login.rps, 1)} (${fixed(data.login.latency.p50, 0)} / ${fixed(data.login.latency.p99, 0)})`,
    ),
    row(
      'login',
      'event loop free during the storm: GET /health p99',
      `${fixed(h.p99, 1)} ms (max ${fixed(h.max, 1)})`,
      `<= ${LOGIN_TARGET.healthP99Ms} ms`,
      clean && h.p99 <= LOGIN_TARGET.healthP99Ms,
    ),
    row('login', 'wrong password', String(data.wrongPasswordStatus), '401', data.wrongPasswordStatus === 401),
  ];
}
