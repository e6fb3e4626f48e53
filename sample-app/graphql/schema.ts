/**
 * The schema of POST /graphql: the flow of the REST routes, with the names
 * the design notes use. Root fields are nullable, so that one failing field
 * (a guarded one without a token) leaves the others' data in place.
 */
import { buildSchema, OperationTypeNode } from 'graphql';

export const SDL = /* GraphQL */ `
  "Email and password. register applies its rules to a new password (8 characters to 72 bytes)."
  input LoginInput {
    email: String!
    password: String!
  }

  type User {
    id: ID!
    email: String!
  }

  "A new pair, as POST /auth/refresh answers it."
  type TokenPair {
    accessToken: String!
    refreshToken: String!
    tokenType: String!
    "Seconds until the access token expires."
    expiresIn: Int!
  }

  "A session's first pair and its user, as POST /auth/login answers them."
  type LoginPayload {
    accessToken: String!
    refreshToken: String!
    tokenType: String!
    expiresIn: Int!
    user: User!
  }

  type Query {
    "The user of the bearer access token. Guarded: no token is an UNAUTHENTICATED error."
    getCurrentUser: User
    "The same as getCurrentUser, under the REST API's name."
    me: User
  }

  type Mutation {
    "Creates an account (no session: log in next). Rate-limited like POST /auth/register."
    register(data: LoginInput!): User
    "Starts a session. Rate-limited like POST /auth/login."
    login(data: LoginInput!): LoginPayload
    "Rotates the refresh token, exactly as POST /auth/refresh does. Rate-limited like it."
    refreshToken(refreshToken: String!): TokenPair
    "Ends the refresh token's session. Idempotent: true once it is gone."
    logout(refreshToken: String!): Boolean
    "Ends every session of the bearer token's user. Guarded."
    logoutAll: Boolean
  }
`;

export const schema = buildSchema(SDL);

/** Root fields that need a valid access token: a refused token fails the whole request (401). */
export const GUARDED: ReadonlyMap<OperationTypeNode, ReadonlySet<string>> = new Map([
  [OperationTypeNode.QUERY, new Set(['getCurrentUser', 'me'])],
  [OperationTypeNode.MUTATION, new Set(['logoutAll'])],
]);

export type LimitName = 'login' | 'register' | 'refresh';

/** Mutations counted by the REST routes' rate limits, by the limit's name. */
export const LIMITED: ReadonlyMap<string, LimitName> = new Map<string, LimitName>([
  ['login', 'login'],
  ['register', 'register'],
  ['refreshToken', 'refresh'],
]);

/**
 * Root mutations that can end sessions, and so write to the revocation
 * record: logout and logoutAll, and refreshToken (a reused token ends its
 * session). A request may select at most one of them, aliases and fragments
 * included, so that one request cannot multiply those writes.
 */
export const ENDS_SESSIONS: ReadonlySet<string> = new Set(['refreshToken', 'logout', 'logoutAll']);
