/**
 * GET /api/v1/health/live: the liveness probe. It answers 200 while this process serves HTTP
 * and asks nothing of the database, so an orchestrator restarts a hung or wedged process, not
 * every replica during a database outage (which a restart cannot fix). Readiness and the
 * database's state stay on /api/v1/health and /api/v1/health/db.
 */
import { Router } from 'express';

export function liveRouter(): Router {
  const router = Router();
  router.get('/live', (_req, res) => {
    res.status(200).set('cache-control', 'no-store').json({ status: 'alive', uptimeSeconds: Math.round(process.uptime()) });
  });
  return router;
}
