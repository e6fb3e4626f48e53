/**
 * The server's timeouts (sample-app/http-server.ts): a client that stalls
 * while sending headers or a body, or sits idle, is cut off; over TLS too,
 * in the handshake as well. Each test makes the timeout under test short and
 * every other one a minute, so that a close proves which timeout fired
 * without measuring how soon: a busy machine makes these slower, not red.
 */
import { once } from 'node:events';
import type { Server } from 'node:net';
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import {
  createHttpServer,
  createHttpsServer,
  DEFAULT_TIMEOUTS,
  type ServerTimeouts,
} from '../sample-app/http-server.js';
import { appFactory } from './helpers/sample-app.js';
import { selfSignedCertificate, type TestCertificate } from './helpers/tls-cert.js';

/** Longer than any of these tests may take: a timeout set to this never fires here. */
const NEVER = 60_000;
/** Every timeout out of the way, but the ones a test sets. */
const QUIET: Partial<ServerTimeouts> = {
  headersTimeout: NEVER,
  requestTimeout: NEVER,
  idleTimeout: NEVER,
  keepAliveTimeout: NEVER,
  checkInterval: 100,
};

describe('sample app HTTP timeouts', function () {
  this.timeout(45_000);
  const apps = appFactory(() => ({}));
  let server: Server | undefined;
  let certificate: TestCertificate | undefined;
  after(async () => {
    await certificate?.remove();
  });
  afterEach(async () => {
    if (server && 'closeAllConnections' in server) (server as { closeAllConnections(): void }).closeAllConnections();
    server?.close();
    server = undefined;
    await apps.closeAll();
  });

  async function serve(timeouts: Partial<ServerTimeouts>, { tls = false } = {}): Promise<number> {
    const { app } = await apps.make();
    if (tls) certificate ??= await selfSignedCertificate();
    server =
      tls && certificate
        ? createHttpsServer(app, certificate, { ...QUIET, ...timeouts })
        : createHttpServer(app, { ...QUIET, ...timeouts });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /**
   * Connects, writes `text`, then stalls; resolves how long until the server
   * closed the connection, and what it sent. A connection still open after
   * 30 s (half of NEVER) fails the test.
   */
  async function stall(port: number, text: string): Promise<{ ms: number; received: string }> {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    await once(socket, 'connect');
    const started = performance.now();
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.write(text);
    const timer = setTimeout(() => socket.destroy(new Error('connection still open after 30 s')), NEVER / 2);
    try {
      await once(socket, 'close');
    } finally {
      clearTimeout(timer);
    }
    if (socket.errored && !/ECONNRESET/.test(socket.errored.message)) throw socket.errored;
    return { ms: performance.now() - started, received };
  }

  it('uses bounded timeouts by default: 10 s for headers, 30 s per request and idle, 5 s keep-alive, over HTTP and HTTPS alike', async () => {
    expect(DEFAULT_TIMEOUTS).to.deep.equal({
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      idleTimeout: 30_000,
      keepAliveTimeout: 5_000,
      checkInterval: 1_000,
    });
    certificate ??= await selfSignedCertificate();
    for (const defaults of [createHttpServer(() => {}), createHttpsServer(() => {}, certificate)]) {
      expect({
        headersTimeout: defaults.headersTimeout,
        requestTimeout: defaults.requestTimeout,
        idleTimeout: defaults.timeout,
        keepAliveTimeout: defaults.keepAliveTimeout,
      }).to.deep.equal({
        headersTimeout: 10_000,
        requestTimeout: 30_000,
        idleTimeout: 30_000,
        keepAliveTimeout: 5_000,
      });
    }
  });

  it('closes a connection that sends part of its headers and stalls, by the headers timeout', async () => {
    const port = await serve({ headersTimeout: 500 });
    const { ms, received } = await stall(port, 'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl');
    expect(ms).to.be.at.least(400);
    expect(received).to.match(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection that stalls in the middle of its body, by the request timeout', async () => {
    const port = await serve({ headersTimeout: 500, requestTimeout: 1000 });
    const { ms } = await stall(
      port,
      'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
    );
    expect(ms).to.be.at.least(900);
  });

  it('closes an idle keep-alive connection by the keep-alive timeout', async () => {
    const port = await serve({ keepAliveTimeout: 300 });
    const { ms, received } = await stall(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(received).to.match(/^HTTP\/1\.1 200 /);
    expect(ms).to.be.at.least(250);
  });

  it('closes a TLS connection that stalls in its handshake, by the headers timeout (Node alone waits 120 s)', async () => {
    const port = await serve({ headersTimeout: 500 }, { tls: true });
    // The first bytes of a TLS record header, then nothing.
    const { ms } = await stall(port, '\x16\x03\x01');
    expect(ms).to.be.at.least(400);
  });
});
