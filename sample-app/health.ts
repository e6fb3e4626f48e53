/**
 * Health endpoints, for load balancers and Kubernetes (issue 15, item 4).
 * Plain HTTP is allowed on all three (require-https.ts) and a 200 is not
 * logged (request-log.ts): probes ask every few seconds.
 *
 * - `GET /health`: `auth.health()` as `report`, beside the fields it always
 *   had (`status`, `store`, `storeOk`). 200 while the session store takes
 *   writes (every primary, on a Cluster), 503 otherwise. Holds no secret or
 *   token, but does name Redis nodes and their errors.
 * - `GET /health/ready`: readiness. 503 while the checked routes would
 *   answer 503 (the store down, or the revocation record not current or not
 *   complete), else 200. Take the instance out of rotation on 503; do not
 *   restart it.
 * - `GET /health/live`: liveness. 200 while the process serves requests; it
 *   asks nothing of Redis, so an outage of Redis never restarts every
 *   instance at once.
 */
import { Router, type Response } from 'express';
import type { HealthReport, TokenAuth } from '../lib/index.js';

/** Why `/health/ready` answers 503, in the order a reader should fix them. */
function notReady(report: HealthReport): string | undefined {
  if (!report.store.ok) return 'store_unavailable';
  if (report.revocations?.current === false) return 'revocations_not_current';
  if (report.revocations?.complete === false) return 'revocations_incomplete';
  return undefined;
}

function answer(res: Response, status: number, body: object): void {
  res.status(status).set('Cache-Control', 'no-store').json(body);
}

/** The three routes; `store` is the app's store kind, reported as before. */
export function healthRoutes(auth: TokenAuth, store: string): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    const report = await auth.health();
    const ok = report.store.ok;
    answer(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', store, storeOk: ok, report });
  });
  router.get('/health/ready', async (_req, res) => {
    const report = await auth.health();
    if (report.ready) answer(res, 200, { ready: true });
    else answer(res, 503, { ready: false, reason: notReady(report) ?? 'not_ready' });
  });
  router.get('/health/live', (_req, res) => {
    answer(res, 200, { live: true });
  });
  return router;
}
