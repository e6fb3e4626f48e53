/**
 * Requests to the sample app's POST /graphql, and the documents the GraphQL
 * suites send (test/graphql*.test.ts).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../../sample-app/app.js';
import { PASSWORD } from './sample-app.js';

export const REGISTER = 'mutation Register($data: LoginInput!) { register(data: $data) { id email } }';
export const LOGIN = `mutation Login($data: LoginInput!) {
  login(data: $data) { accessToken refreshToken tokenType expiresIn user { id email } }
}`;
export const REFRESH =
  'mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken expiresIn } }';
export const LOGOUT = 'mutation Logout($token: String!) { logout(refreshToken: $token) }';
export const ME = '{ me { id email } getCurrentUser { id } }';

export interface GraphQLErrorBody {
  message: string;
  path?: string[];
  extensions?: { code?: string; reason?: string; status?: number };
}

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: GraphQLErrorBody[];
}

export interface Pair {
  accessToken: string;
  refreshToken: string;
}

/** POST /graphql with a JSON body, and a bearer token if given. */
export function gql(
  sample: SampleApp,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): request.Test {
  const req = request(sample.app)
    .post('/graphql')
    .send(variables === undefined ? { query } : { query, variables });
  return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
}

export function bodyOf(res: request.Response): GraphQLBody {
  return res.body as GraphQLBody;
}

/** The `[reason, code, status]` of each error of an answer. */
export function reasons(res: request.Response): Array<[string | undefined, string | undefined, number | undefined]> {
  return (bodyOf(res).errors ?? []).map(({ extensions: e }) => [e?.reason, e?.code, e?.status]);
}

export async function gqlRegister(
  sample: SampleApp,
  email: string,
  password = PASSWORD,
): Promise<{ id: string; email: string }> {
  const res = await gql(sample, REGISTER, { data: { email, password } });
  expect(res.status, res.text).to.equal(200);
  expect(bodyOf(res).errors, res.text).to.equal(undefined);
  return bodyOf(res).data?.register as { id: string; email: string };
}

export async function gqlLogin(
  sample: SampleApp,
  email: string,
  password = PASSWORD,
): Promise<Pair & { user: { id: string } }> {
  const res = await gql(sample, LOGIN, { data: { email, password } });
  expect(res.status, res.text).to.equal(200);
  expect(bodyOf(res).errors, res.text).to.equal(undefined);
  return bodyOf(res).data?.login as Pair & { user: { id: string } };
}

/** The refreshToken mutation: the answer, for its status, data and errors. */
export function gqlRefresh(sample: SampleApp, refreshToken: string, accessToken?: string): request.Test {
  return gql(sample, REFRESH, { token: refreshToken }, accessToken);
}

/** The sample app on a real port, for requests supertest cannot make (raw headers, a body streamed without end). */
export async function listen(sample: SampleApp): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer(sample.app);
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body as JSON, or `undefined` if it is none. */
  body: GraphQLBody | undefined;
}

/**
 * POST /graphql with exactly `headers` (an array value sends the header once
 * per element; no Content-Type is added) and `body`, on a fresh connection.
 */
export function rawPost(port: number, headers: OutgoingHttpHeaders, body: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/graphql',
      agent: false,
      headers: {
        ...headers,
        'Content-Length': Buffer.byteLength(body),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: GraphQLBody | undefined;
        try {
          parsed = JSON.parse(text) as GraphQLBody;
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
    });
    req.end(body);
  });
}

export interface FloodResult {
  /** The answer's status, if one arrived before the connection closed. */
  status: number | undefined;
  text: string;
  /** Body bytes handed to the socket when the answer arrived (or the connection failed). */
  writtenWhenAnswered: number;
  /** Body bytes handed to the socket in all. */
  written: number;
  /** Whether the whole body was sent. */
  finished: boolean;
}

/**
 * POSTs `prefix` followed by spaces up to `total` bytes (valid JSON whitespace
 * if `prefix` opens an object), written as fast as the socket takes them:
 * a server that stops reading stops the writing.
 */
export function flood(
  port: number,
  headers: OutgoingHttpHeaders,
  total: number,
  prefix = '{"query":"{ __typename }"',
): Promise<FloodResult> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/graphql', agent: false, headers });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const result: FloodResult = { status: undefined, text: '', writtenWhenAnswered: -1, written: 0, finished: false };
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      if (result.writtenWhenAnswered < 0) result.writtenWhenAnswered = result.written;
      req.destroy();
      resolve(result);
    };
    req.on('error', stop);
    req.on('close', stop);
    req.on('response', (res) => {
      result.status = res.statusCode;
      result.writtenWhenAnswered = result.written;
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        result.text += text;
      });
      res.on('error', stop);
      res.on('end', stop);
    });
    const pump = (): void => {
      while (!stopped && result.written < total - 1) {
        const piece =
          result.written === 0
            ? Buffer.from(prefix)
            : chunk.subarray(0, Math.min(chunk.length, total - 1 - result.written));
        result.written += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!stopped && !result.finished) {
        result.finished = true;
        result.written += 1;
        req.end('}');
      }
    };
    pump();
  });
}
