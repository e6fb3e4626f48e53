/**
 * The plain shapes of the framework-free HTTP edge: what an adapter reads a
 * request into, and the decision it writes back out. Nothing here knows
 * Express, or any other framework.
 */

/** A request as the decisions read it. */
export interface HttpRequest {
  /** E.g. `'POST'`: a DPoP proof's `htm`. */
  readonly method?: string | undefined;
  /** The path and query as sent, e.g. `'/auth/refresh'`: with `origin`, a DPoP proof's `htu`. */
  readonly url?: string | undefined;
  /** Header names in lower case, as Node gives them (`Cookie` as one string, joined with "; "). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The parsed JSON body, if any (`undefined` without a body parser). */
  readonly body?: unknown;
  /** The client's address as the framework judged it (proxies), for `SessionMeta`. */
  readonly ip?: string | undefined;
  /**
   * `scheme://host[:port]` as the client addressed it, as the framework
   * judged it (proxies): with `url`, a DPoP proof's `htu`. Undefined: no
   * absolute URL (a DPoP proof then cannot match, unless `dpop.publicUrl`).
   */
  readonly origin?: string | undefined;
}

/** What to answer: an adapter writes the status, the headers, each Set-Cookie, then the body. */
export interface HttpAnswer {
  readonly status: number;
  /** Header name -> value; never Set-Cookie (see `cookies`) nor Content-Type (JSON when `body` is set). */
  readonly headers: Readonly<Record<string, string>>;
  /** Each a whole Set-Cookie value, in order. */
  readonly cookies: readonly string[];
  /** Sent as JSON; `undefined`: no body (a 204). */
  readonly body?: unknown;
}
