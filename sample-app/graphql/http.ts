/**
 * The HTTP edge of POST /graphql, and its only parser. The route reads the
 * body itself, under a hard byte cap, and hands graphql-http the parameters
 * it found: graphql-http never reads, decodes or parses a byte of a request.
 * So the limits and the rate limiters, which look at these parameters, see
 * every request that can run, and nothing reaches graphql-http that did not
 * pass them. (graphql-http's own parser is looser than express.json: it
 * deletes all whitespace from the Content-Type and reads any length.)
 *
 * Accepted: `Content-Type: application/json`, in any case, with at most a
 * `charset=utf-8` parameter (quoted or not, any case), OWS around the `;`
 * (RFC 9110). No Content-Encoding (or `identity`). Anything else is refused
 * before a byte of the body is read: 415 for the media type or the encoding,
 * 413 for a declared length over the cap. A body that turns out longer is cut
 * off at the cap (413). Every answer given before the body was read to its end
 * closes the connection, so the server never reads the rest.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Handler, RequestParams } from 'graphql-http';

/** Bytes of a request body. A login with its variables is about 300; GraphiQL's introspection query 2 kB. */
export const MAX_BODY_BYTES = 16 * 1024;

const JSON_MEDIA_TYPE = /^application\/json(?:[\t ]*;[\t ]*charset=(?:utf-8|"utf-8"))?$/i;

/** Whether a Content-Type header (as Node hands it: trimmed, the first of several) is one this route reads. */
export function isGraphQLMediaType(header: string | undefined): boolean {
  return header !== undefined && JSON_MEDIA_TYPE.test(header);
}

/** A refusal of the request itself: answered as `{ error, message }`, which the route turns GraphQL-shaped. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const tooLarge = (): Refusal =>
  new Refusal(413, 'payload_too_large', `body is too large (at most ${MAX_BODY_BYTES} bytes)`);
const invalid = (message: string): Refusal => new Refusal(400, 'invalid_request', message);

/** The body, at most `limit` bytes; a longer one is refused at the first byte over. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (req.readableEnded) {
      // A wiring mistake, not the client's: another parser took the body first.
      reject(new Error('the /graphql body was read before the GraphQL route: mount it before any body parser'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (error: Error): void => {
      cleanup();
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) fail(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (): void => {
      fail(invalid('the request body was not received whole'));
    };
    const onClose = (): void => {
      if (!req.complete) onError();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The GraphQL-over-HTTP parameters of a JSON body, checked as graphql-http would check them. */
function paramsOf(body: Buffer): RequestParams {
  let text: string;
  let data: unknown;
  try {
    text = utf8.decode(body); // a leading BOM is dropped
  } catch {
    throw invalid('body is not valid UTF-8');
  }
  try {
    data = JSON.parse(text);
  } catch {
    throw invalid('body is not valid JSON');
  }
  if (!isObject(data)) throw invalid('body must be one JSON object (no batches)');
  const { query, variables, operationName, extensions } = data;
  const given = (value: unknown): boolean => value !== undefined && value !== null; // null is "not given", as graphql-http has it
  if (typeof query !== 'string') throw invalid('body must have a "query" string');
  if (given(variables) && !isObject(variables)) throw invalid('"variables" must be an object');
  if (given(operationName) && typeof operationName !== 'string') throw invalid('"operationName" must be a string');
  if (given(extensions) && !isObject(extensions)) throw invalid('"extensions" must be an object');
  return {
    query,
    ...(isObject(variables) ? { variables } : {}),
    ...(typeof operationName === 'string' ? { operationName } : {}),
    ...(isObject(extensions) ? { extensions } : {}),
  };
}

function refuse(res: Response, { status, code, message }: Refusal, unread: boolean): void {
  // The rest of the body is never read: the connection closes after this answer.
  if (unread) res.set('Connection', 'close');
  res.status(status).json({ error: code, message });
}

/**
 * Reads and checks the request's body, and keeps its parameters in
 * `store` for the gate and for graphql-http; refuses anything else.
 */
export function readParams(store: WeakMap<Request, RequestParams>): RequestHandler {
  return (req, res, next) => {
    const encoding = req.get('content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      refuse(res, new Refusal(415, 'unsupported_media_type', 'send the body without a Content-Encoding'), true);
      return;
    }
    if (!isGraphQLMediaType(req.get('content-type'))) {
      refuse(
        res,
        new Refusal(415, 'unsupported_media_type', 'send GraphQL as Content-Type: application/json (UTF-8)'),
        true,
      );
      return;
    }
    if (Number(req.get('content-length') ?? 0) > MAX_BODY_BYTES) {
      refuse(res, tooLarge(), true);
      return;
    }
    readBody(req, MAX_BODY_BYTES)
      .then((body) => {
        store.set(req, paramsOf(body));
        next();
      })
      .catch((error: unknown) => {
        if (error instanceof Refusal) refuse(res, error, !req.complete);
        else next(error);
      });
  };
}

/** The code and message of a refusal graphql-http answers without a body (406 Not Acceptable...). */
function refusalOf(status: number, statusText: string | undefined): [code: string, message: string] {
  if (status === 406) return ['not_acceptable', 'accept application/json or application/graphql-response+json (UTF-8)'];
  if (status === 405) return ['method_not_allowed', 'send GraphQL as POST /graphql'];
  if (status === 415) return ['unsupported_media_type', 'send GraphQL as Content-Type: application/json (UTF-8)'];
  return ['invalid_request', statusText ?? 'invalid request'];
}

/**
 * graphql-http's generic handler on Express, given the parameters
 * `readParams` stored (the body it sees is `null`, and its parseRequestParams
 * option must return them from `req.raw`). Its answers without a body
 * (406...) go out in the route's shape. A thrown error is a bug: next(error).
 */
export function serve(handle: Handler<Request, { res: Response }>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    handle({ url: req.url, method: req.method, headers: req.headers, body: null, raw: req, context: { res } }).then(
      ([body, init]) => {
        if (body === null && init.status >= 400) {
          const [code, message] = refusalOf(init.status, init.statusText);
          res.status(init.status).json({ error: code, message });
          return;
        }
        res.writeHead(init.status, init.statusText, init.headers).end(body);
      },
      next,
    );
  };
}
