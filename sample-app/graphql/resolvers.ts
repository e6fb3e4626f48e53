/**
 * The resolvers of schema.ts: register and login as routes.ts does them
 * (same checks, one bcrypt comparison whatever the email), and the library's
 * core for the rest. Every failure leaves as a GraphQL error whose
 * `extensions` are `{ code, reason, status }` (see lib/graphql.ts): the
 * package's own errors through `toGraphQLError`, the app's through
 * `graphqlExtensions` with their REST code.
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import {
  graphqlExtensions,
  requireAuth,
  toGraphQLError,
  type AuthContext,
  type GraphQLErrorExtensions,
  type SessionMeta,
  type TokenAuth,
  type TokenPair,
  type TokenPairContext,
} from '../../lib/index.js';
import { revocationReason, type RevocationReason } from '../audit.js';
import { parseCredentials, type Passwords } from '../credentials.js';
import { AppError } from '../errors.js';
import type { User, UserStore } from '../users.js';

/** What every resolver gets: the token verified once (`graphqlContext`), and the request. */
export type GraphQLContext = TokenPairContext & { readonly req: Request; readonly res: Response };

export interface ResolverDeps {
  auth: TokenAuth;
  users: UserStore;
  passwords: Passwords;
}

/** An app error (`invalid_credentials`, `email_taken`, `invalid_request`) in the GraphQL shape. */
export class AppGraphQLError extends Error {
  readonly extensions: GraphQLErrorExtensions;

  constructor(error: AppError) {
    super(error.message, { cause: error });
    this.name = 'AppGraphQLError';
    this.extensions = graphqlExtensions(error.code, error.status);
  }
}

/** Runs a resolver's work; expected failures become GraphQL errors, anything else (a bug) stays as it is. */
async function answer<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof AppError ? new AppGraphQLError(error) : toGraphQLError(error);
  }
}

function metaOf(req: Request): SessionMeta {
  return { ip: req.ip, userAgent: req.get('user-agent') };
}

/** Sessions `work` ends are logged with the request's IP and `reason`, as the REST routes' are (audit.ts). */
function loggedAs<T>(reason: RevocationReason, { req, res }: GraphQLContext, work: () => Promise<T>): Promise<T> {
  let result: Promise<T> | undefined;
  revocationReason(reason)(req, res, () => {
    result = work();
  });
  return result ?? Promise.reject(new Error('revocationReason did not call next'));
}

function userOf(context: AuthContext): User {
  const { email } = context.claims;
  if (typeof email !== 'string') throw new Error('access token without an email claim');
  return { id: context.userId, email };
}

interface Credentials {
  data: unknown;
}
interface RefreshArgs {
  refreshToken: string;
}

/** The root value graphql-js resolves the root fields from. */
export function resolvers({ auth, users, passwords }: ResolverDeps) {
  const currentUser = (_args: unknown, context: GraphQLContext): Promise<User> =>
    answer(() => userOf(requireAuth(context)));
  return {
    getCurrentUser: currentUser,
    me: currentUser,

    register: ({ data }: Credentials): Promise<User> =>
      answer(async () => {
        const { email, password } = parseCredentials(data, 'register');
        const user = { id: randomUUID(), email };
        // As POST /auth/register: hash first, then claim the email atomically.
        if (!(await users.create({ ...user, passwordHash: await passwords.hash(password) }))) {
          throw new AppError(409, 'email_taken', 'an account with this email already exists');
        }
        return user;
      }),

    login: ({ data }: Credentials, context: GraphQLContext): Promise<TokenPair & { user: User }> =>
      answer(async () => {
        const { email, password } = parseCredentials(data, 'login');
        const authenticatedAt = auth.now(); // as POST /auth/login: before the hash is read
        const user = await users.findByEmail(email);
        // As POST /auth/login: one bcrypt comparison, and one answer, for an unknown email and a wrong password.
        const ok = await passwords.verify(password, user?.passwordHash);
        if (!user || !ok) throw new AppError(401, 'invalid_credentials', 'email or password is incorrect');
        const pair = await auth.issue({
          userId: user.id,
          claims: { email: user.email },
          meta: metaOf(context.req),
          authenticatedAt,
        });
        return { ...pair, user: { id: user.id, email: user.email } };
      }),

    // The same core call as refreshHandler: rotation, the grace window and reuse detection.
    refreshToken: ({ refreshToken }: RefreshArgs, context: GraphQLContext): Promise<TokenPair> =>
      answer(() => auth.refresh(refreshToken, metaOf(context.req))),

    logout: ({ refreshToken }: RefreshArgs, context: GraphQLContext): Promise<boolean> =>
      answer(async () => {
        await loggedAs('logout', context, () => auth.revoke(refreshToken, metaOf(context.req)));
        return true;
      }),

    logoutAll: (_args: unknown, context: GraphQLContext): Promise<boolean> =>
      answer(async () => {
        const { userId } = requireAuth(context);
        await loggedAs('logout_all', context, () => auth.revokeAll(userId));
        return true;
      }),
  };
}
