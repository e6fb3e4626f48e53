/**
 * Security events as log lines an operator can search and alert on. Each
 * has a fixed vocabulary: `event` (one of `SecurityEvent`), and of
 * `userId`, `sessionId`, `ip` and `reason` whichever are known, plus a
 * sentence in `msg`. Never a token, a password or an email.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestHandler } from 'express';
import type { TokenAuth } from '../lib/index.js';
import type { PinoLogger } from './logger.js';

export type SecurityEvent = 'reuse_detected' | 'suspicious' | 'session_revoked' | 'sessions_revoked' | 'rate_limited';

/** Why sessions ended: the route that ended them. */
export type RevocationReason = 'logout' | 'logout_all' | 'logout_others' | 'session_deleted' | 'password_changed';

export interface SecurityFields {
  event: SecurityEvent;
  userId?: string | undefined;
  sessionId?: string | undefined;
  ip?: string | undefined;
  /** `suspicious`: the library's reason; `rate_limited`: the limit; revocations: a `RevocationReason`. */
  reason?: string | undefined;
}

/** Writes one security event (a warning for the ones worth a look, info for revocations). */
export function securityEvent(
  logger: PinoLogger,
  level: 'info' | 'warn',
  fields: SecurityFields,
  message: string,
): void {
  logger[level](fields, message);
}

/**
 * The request a revocation happens in, so its log line can say who asked
 * and why: the library's `revoked` event knows the user and the session only.
 */
const requestContext = new AsyncLocalStorage<{ ip: string | undefined; reason: RevocationReason }>();

/** Middleware: sessions this request ends are logged with its IP and `reason`. */
export function revocationReason(reason: RevocationReason): RequestHandler {
  return (req, _res, next) => {
    requestContext.run({ ip: req.ip, reason }, next);
  };
}

/** Logs the library's security events (listeners run synchronously after each step). */
export function logSecurityEvents(auth: TokenAuth, logger: PinoLogger): void {
  // A spent refresh token used again usually means it was stolen: the library has ended the session.
  auth.on('reuse_detected', ({ userId, sessionId, meta }) => {
    securityEvent(
      logger,
      'warn',
      { event: 'reuse_detected', userId, sessionId, ip: meta.ip },
      'refresh token reuse: session revoked',
    );
  });
  // Worth a look, not proof of theft: a refresh from another IP or browser, or too many refreshes.
  auth.on('suspicious', ({ userId, sessionId, meta, reason, detail }) => {
    securityEvent(
      logger,
      'warn',
      { event: 'suspicious', userId, sessionId, ip: meta.ip, reason },
      `suspicious refresh: ${detail}`,
    );
  });
  auth.on('revoked', ({ userId, sessionId, count }) => {
    if (count === 0) return; // nothing ended: a second logout, or an unknown session id
    const { ip, reason } = requestContext.getStore() ?? {};
    if (sessionId === undefined) {
      securityEvent(
        logger,
        'info',
        { event: 'sessions_revoked', userId, ip, reason },
        `${count} session${count === 1 ? '' : 's'} ended`,
      );
    } else {
      securityEvent(logger, 'info', { event: 'session_revoked', userId, sessionId, ip, reason }, 'session ended');
    }
  });
}
