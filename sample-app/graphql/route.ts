/**
 * POST /graphql, served by graphql-http (the reference GraphQL-over-HTTP
 * server: spec-compliant, no framework of its own, graphql's own execution).
 *
 * Before anything runs, per request:
 * 1. Every answer is `Cache-Control: no-store`, and every error the app
 *    answers the REST way (`{ error, message }`: the rate limits, the body
 *    parser, the error handler) goes out GraphQL-shaped:
 *    `{ errors: [{ message, extensions: { code, reason, status } }] }`.
 * 2. The body is read by http.ts, the route's only parser: `application/json`
 *    (UTF-8) only, else 415 before a byte is read; 16 kB at most, else 413
 *    and the connection closes. graphql-http is handed the parameters found
 *    there and never parses anything itself, so no spelling of a request
 *    runs without passing the steps below. The bearer token is verified
 *    once, with the revocation check (`graphqlContext`).
 * 3. A refused token (expired, invalid, revoked) fails the whole request at
 *    the HTTP level, 401 with `WWW-Authenticate`, if the operation selects a
 *    guarded field: nothing runs, nothing partial comes back, and a client
 *    that refreshes on a 401 can retry safely. An operation of public fields
 *    only (the refreshToken mutation sent with the expired access token
 *    still attached) runs as if no token had been sent. No token at all: the
 *    guarded fields fail on their own (200, UNAUTHENTICATED), the rest resolve.
 * 4. A mutation selects at most one field that can end sessions
 *    (refreshToken, logout, logoutAll; aliases and fragments counted), else
 *    400: one request cannot multiply writes to the revocation record.
 * 5. login, register and refreshToken count against the REST routes' own
 *    limiters (same stores, so REST and GraphQL share one budget per IP),
 *    once per field: two aliased logins are two attempts.
 * Then graphql-http validates (depth limit; introspection and "Did you
 * mean" suggestions only outside production) and executes. Variables are
 * never logged: they carry passwords and refresh tokens. A resolver's
 * unexpected error is logged and masked.
 */
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { execute, GraphQLError, NoSchemaIntrospectionCustomRule, OperationTypeNode, validate } from 'graphql';
import { createHandler, type RequestParams } from 'graphql-http';
import {
  dpopPresentation,
  graphqlContext,
  graphqlExtensions,
  GraphQLTokenError,
  sendError,
  TokenMissingError,
  type TokenAuth,
} from '../../lib/index.js';
import type { Passwords } from '../credentials.js';
import type { PinoLogger } from '../logger.js';
import type { UserStore } from '../users.js';
import { readParams, serve } from './http.js';
import { depthLimit, MAX_DEPTH, parseDocument, rootFields, type RootFields } from './limits.js';
import { AppGraphQLError, resolvers, type GraphQLContext } from './resolvers.js';
import { ENDS_SESSIONS, GUARDED, LIMITED, schema, type LimitName } from './schema.js';

export interface GraphQLRouteDeps {
  auth: TokenAuth;
  users: UserStore;
  passwords: Passwords;
  /** The REST routes' limiters (app.ts): the mutations count against the same budgets. */
  limits: { login: RequestHandler; register: RequestHandler; refresh: RequestHandler };
  logger: PinoLogger;
  /** Refuse the access tokens of ended sessions (off on a Redis Cluster: see routes.ts). */
  checkRevocation: boolean;
  /** Default: on, unless NODE_ENV=production when the route is created. */
  introspection?: boolean;
  /**
   * graphql's "Did you mean ...?" in error messages, which name schema
   * fields, arguments and types. Default: on, unless NODE_ENV=production when
   * the route is created: they would tell what introspection being off hides.
   */
  suggestions?: boolean;
}

function isRestError(body: unknown): body is { error: string; message: string } {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { error?: unknown }).error === 'string' &&
    typeof (body as { message?: unknown }).message === 'string'
  );
}

/** No caching, and the app's REST-shaped errors in the GraphQL shape, on every answer of this path. */
const graphqlShaped: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  const json = res.json.bind(res);
  res.json = ((body: unknown) =>
    json(
      isRestError(body)
        ? { errors: [{ message: body.message, extensions: graphqlExtensions(body.error, res.statusCode) }] }
        : body,
    )) as typeof res.json;
  next();
};

/** The operation's root fields, or `undefined` if the query cannot tell (graphql-http then refuses it, with the same parser). */
function fieldsOf(params: RequestParams | undefined): RootFields | undefined {
  if (params === undefined) return undefined;
  try {
    return rootFields(parseDocument(params.query), params.operationName ?? undefined);
  } catch {
    return undefined;
  }
}

const RATE_HEADERS = ['RateLimit', 'RateLimit-Policy'];

/**
 * Runs the limiters of `names` (one name per field) one after the other, as
 * a route's stack would: one that answers (a 429) ends the chain. A limiter
 * run again for the same request puts its `RateLimit` headers back first, so
 * that they hold its last count once, not every count.
 */
function countFields(
  names: LimitName[],
  limits: GraphQLRouteDeps['limits'],
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  const ordered = [...names].sort();
  let saved: unknown[] = [];
  const step = (index: number): void => {
    const name = ordered[index];
    if (name === undefined) {
      next();
      return;
    }
    if (name !== ordered[index - 1]) {
      saved = RATE_HEADERS.map((header) => res.getHeader(header));
    } else {
      RATE_HEADERS.forEach((header, i) => {
        const value = saved[i];
        if (value === undefined) res.removeHeader(header);
        else res.setHeader(header, value as string | string[]);
      });
    }
    limits[name](req, res, (error?: unknown) => {
      if (error !== undefined && error !== null) next(error);
      else step(index + 1);
    });
  };
  step(0);
}

export function graphqlRoute({
  auth,
  users,
  passwords,
  limits,
  logger,
  introspection,
  suggestions,
  checkRevocation,
}: GraphQLRouteDeps): Router {
  const contextFor = graphqlContext(auth, { checkRevocation });
  const params = new WeakMap<Request, RequestParams>();
  const contexts = new WeakMap<Request, GraphQLContext>();
  const production = process.env.NODE_ENV === 'production';
  const withIntrospection = introspection ?? !production;
  const hideSuggestions = !(suggestions ?? !production);

  const gate: RequestHandler = (req, res, next) => {
    const context: GraphQLContext = { ...contextFor(req.get('authorization'), dpopPresentation(req)), req, res };
    const fields = fieldsOf(params.get(req));
    const refused = context.authError !== undefined && context.authError.code !== 'token_missing';
    const guarded = GUARDED.get(fields?.operation ?? OperationTypeNode.SUBSCRIPTION);
    if (refused && fields?.names.some((name) => guarded?.has(name)) === true) {
      sendError(context.authError, res, next); // 401 (400 for a bare "Bearer", 503 while revocations are not current)
      return;
    }
    // Aliases must not multiply writes to the revocation record: one session-ending field per request.
    const ending =
      fields?.operation === OperationTypeNode.MUTATION ? fields.names.filter((name) => ENDS_SESSIONS.has(name)) : [];
    if (ending.length > 1) {
      res.status(400).json({
        error: 'invalid_request',
        message: `at most one of ${[...ENDS_SESSIONS].join(', ')} per request (this one has ${ending.length})`,
      });
      return;
    }
    contexts.set(req, context);
    const counted =
      fields?.operation === OperationTypeNode.MUTATION ? fields.names.flatMap((name) => LIMITED.get(name) ?? []) : [];
    countFields(counted, limits, req, res, next);
  };

  const handler = createHandler<Request, { res: Response }, GraphQLContext>({
    schema,
    rootValue: resolvers({ auth, users, passwords }),
    // Only what readParams read and checked: graphql-http's own parser never runs.
    parseRequestParams: (req) => params.get(req.raw) ?? [null, { status: 415, statusText: 'Unsupported Media Type' }],
    parse: parseDocument,
    // graphql 16.10+: no "Did you mean" from validation, nor from the coercion of variables at execution.
    validate: (checked, document, rules) => validate(checked, document, rules, { hideSuggestions }),
    execute: (args) => execute({ ...args, hideSuggestions }),
    validationRules: [depthLimit(MAX_DEPTH), ...(withIntrospection ? [] : [NoSchemaIntrospectionCustomRule])],
    context: (req) =>
      contexts.get(req.raw) ?? {
        auth: undefined,
        authError: new TokenMissingError('no bearer token'),
        req: req.raw,
        res: req.context.res,
      },
    formatError: (error) => {
      // graphql-http's own refusals of the request ("Missing query", "Invalid variables"...).
      if (!(error instanceof GraphQLError)) {
        return new GraphQLError(error.message, { extensions: { ...graphqlExtensions('invalid_request', 400) } });
      }
      const original = error.originalError;
      if (
        original === undefined ||
        original instanceof GraphQLError ||
        original instanceof GraphQLTokenError ||
        original instanceof AppGraphQLError
      )
        return error;
      // A bug: the details go to the log (never the variables), the client gets nothing specific.
      logger.error({ err: original }, `unexpected error in GraphQL field ${error.path?.join('.') ?? '?'}`);
      return new GraphQLError('something went wrong', {
        nodes: error.nodes,
        path: error.path,
        extensions: { ...graphqlExtensions('internal_error', 500) },
      });
    },
  });

  const router = Router();
  router.all('/graphql', graphqlShaped);
  router.post('/graphql', readParams(params), gate, serve(handler));
  router.all('/graphql', (_req, res) => {
    res
      .status(405)
      .set('Allow', 'POST')
      .json({ error: 'method_not_allowed', message: 'send GraphQL as POST /graphql' });
  });
  return router;
}
