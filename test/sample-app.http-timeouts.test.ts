/**
 * The HTTP server's timeouts (sample-app/http-server.ts): a client that
 * stalls while sending headers or a body, or sits idle, is cut off.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import { createHttpServer, DEFAULT_TIMEOUTS } from '../sample-app/http-server.js';
import { appFactory } from './helpers/sample-app.js';

describe('sample app HTTP timeouts', () => {
  const apps = appFactory(() => ({}));
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
    await apps.closeAll();
  });

  async function serve(timeouts: Parameters<typeof createHttpServer>[1]): Promise<number> {
    server = createHttpServer((await apps.make()).app, timeouts);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** Connects, writes `text`, then stalls; resolves how long until the server closed the connection, and what it sent. */
  async function stall(port: number, text: string, within = 3000): Promise<{ ms: number; received: string }> {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    await once(socket, 'connect');
    const started = Date.now();
    let received = '';
    socket.on('data', (chunk: Buffer) => { received += chunk.toString(); });
    socket.write(text);
    const timer = setTimeout(() => socket.destroy(new Error(`connection still open after ${within} ms`)), within);
    try {
      await once(socket, 'close');
    } finally {
      clearTimeout(timer);
    }
    if (socket.errored && !/ECONNRESET/.test(socket.errored.message)) throw socket.errored;
    return { ms: Date.now() - started, received };
  }

  it('uses bounded timeouts by default: 10 s for headers, 30 s per request and idle, 5 s keep-alive', () => {
    const defaults = createHttpServer(() => {});
    expect(DEFAULT_TIMEOUTS).to.deep.equal({ headersTimeout: 10_000, requestTimeout: 30_000, idleTimeout: 30_000, keepAliveTimeout: 5_000, checkInterval: 1_000 });
    expect({
      headersTimeout: defaults.headersTimeout, requestTimeout: defaults.requestTimeout,
      idleTimeout: defaults.timeout, keepAliveTimeout: defaults.keepAliveTimeout,
    }).to.deep.equal({ headersTimeout: 10_000, requestTimeout: 30_000, idleTimeout: 30_000, keepAliveTimeout: 5_000 });
  });

  it('closes a connection that sends part of its headers and stalls, within the headers timeout', async () => {
    const port = await serve({ headersTimeout: 500, requestTimeout: 1500, checkInterval: 100 });
    const { ms, received } = await stall(port, 'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl');
    expect(ms).to.be.within(400, 1000);
    expect(received).to.match(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection that stalls in the middle of its body, within the request timeout', async () => {
    const port = await serve({ headersTimeout: 500, requestTimeout: 1000, checkInterval: 100 });
    const { ms } = await stall(port, 'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":');
    expect(ms).to.be.within(900, 1800);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const port = await serve({ keepAliveTimeout: 300, checkInterval: 100 });
    const { ms, received } = await stall(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(received).to.match(/^HTTP\/1\.1 200 /);
    // Node 20 closes an idle keep-alive socket about a second after keepAliveTimeout (measured: 300 ms -> ~1.3 s).
    expect(ms).to.be.within(250, 2000);
  });
});
