/**
 * Requests to the sample app's POST /graphql, and the documents the GraphQL
 * suites send (test/graphql*.test.ts).
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../../sample-app/app.js';
import { PASSWORD } from './sample-app.js';

export const REGISTER = 'mutation Register($data: LoginInput!) { register(data: $data) { id email } }';
export const LOGIN = `mutation Login($data: LoginInput!) {
  login(data: $data) { accessToken refreshToken tokenType expiresIn user { id email } }
}`;
export const REFRESH = 'mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken expiresIn } }';
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
export function gql(sample: SampleApp, query: string, variables?: Record<string, unknown>, token?: string): request.Test {
  const req = request(sample.app).post('/graphql').send(variables === undefined ? { query } : { query, variables });
  return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
}

export function bodyOf(res: request.Response): GraphQLBody {
  return res.body as GraphQLBody;
}

/** The `[reason, code, status]` of each error of an answer. */
export function reasons(res: request.Response): Array<[string | undefined, string | undefined, number | undefined]> {
  return (bodyOf(res).errors ?? []).map(({ extensions: e }) => [e?.reason, e?.code, e?.status]);
}

export async function gqlRegister(sample: SampleApp, email: string, password = PASSWORD): Promise<{ id: string; email: string }> {
  const res = await gql(sample, REGISTER, { data: { email, password } });
  expect(res.status, res.text).to.equal(200);
  expect(bodyOf(res).errors, res.text).to.equal(undefined);
  return bodyOf(res).data?.register as { id: string; email: string };
}

export async function gqlLogin(sample: SampleApp, email: string, password = PASSWORD): Promise<Pair & { user: { id: string } }> {
  const res = await gql(sample, LOGIN, { data: { email, password } });
  expect(res.status, res.text).to.equal(200);
  expect(bodyOf(res).errors, res.text).to.equal(undefined);
  return bodyOf(res).data?.login as Pair & { user: { id: string } };
}

/** The refreshToken mutation: the answer, for its status, data and errors. */
export function gqlRefresh(sample: SampleApp, refreshToken: string, accessToken?: string): request.Test {
  return gql(sample, REFRESH, { token: refreshToken }, accessToken);
}
