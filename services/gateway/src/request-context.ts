// Per request: the request id (X-Request-Id in, or generated; echoed back), one access-log
// line and the HTTP metrics, labelled with the route template rather than the raw path.
import { newRequestId, type Logger } from '@labelloop/common';
import type { RequestHandler } from 'express';
import type { ApiKeyRecord } from './auth/api-key-store.js';
import type { HttpMetrics } from './metrics.js';

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;
// Probes and scrapes would drown the access log at info.
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function requestContext(logger: Logger, metrics: HttpMetrics): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID_PATTERN.test(incoming) ? incoming : newRequestId();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();

    res.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      // 499: the client went away before the response was complete.
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.requests.inc({ method: req.method, route, status: String(status) });
      metrics.duration.observe({ method: req.method, route }, seconds);
      const principal = res.locals.principal as ApiKeyRecord | undefined;
      const ms = Math.round(seconds * 1000);
      const fields = { method: req.method, route, status, ms, requestId, keyName: principal?.name };
      if (QUIET_ROUTES.has(route) && status < 400) logger.debug(fields, 'request');
      else logger.info(fields, 'request');
    });
    next();
  };
}
