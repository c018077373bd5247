// createApp(deps): the express application: request context, the route table (auth →
// body → zod validation → handler), problem+json for everything that goes wrong.
import { isUtf8 } from 'node:buffer';
import { runWithRequestId, type Logger, type Registry } from '@labelloop/common';
import type { Database } from '@labelloop/storage';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { z } from 'zod';
import { authenticate } from './auth/authenticate.js';
import { checkDatasetScope } from './auth/dataset-scope.js';
import type { RateLimits } from './auth/rate-limit.js';
import type { ApiKeyRecord, ApiKeyStore } from './auth/api-key-store.js';
import type { DatasetGateway } from './clients/dataset.gateway.js';
import type { InferenceGateway } from './clients/inference.gateway.js';
import type { TrainerGateway } from './clients/trainer.gateway.js';
import { createHttpMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi/document.js';
import { HttpProblem, sendProblem, toProblem, type ProblemEntry } from './problem.js';
import { requestContext } from './request-context.js';
import { activeLearningRoutes } from './routes/active-learning.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { datasetRoutes } from './routes/datasets.js';
import { exportRoutes } from './routes/exports.js';
import { importRoutes } from './routes/imports.js';
import { itemRoutes } from './routes/items.js';
import { modelRoutes } from './routes/models.js';
import { operationalRoutes } from './routes/operational.js';
import { predictionRoutes } from './routes/predictions.js';
import { toExpressPath, type Route } from './routes/route.js';
import { trainingRunRoutes } from './routes/training-runs.js';
import { uploadRoutes } from './routes/uploads.js';
import { DEFAULT_WEB_ROOT, webApp } from './web-app.js';

export interface Limits {
  maxImageBytes: number;
  maxFilesPerUpload: number;
  maxArchiveBytes: number;
  maxJsonBytes: number;
  uploadConcurrency: number;
}

export interface AppDeps {
  dataset: DatasetGateway;
  /** Training routes answer 503 while the trainer is down; the rest of the API is unaffected. */
  trainer: TrainerGateway;
  /** Prediction routes answer 503 while inference is down. */
  inference: InferenceGateway;
  apiKeys: ApiKeyStore;
  db: Pick<Database, 'ping'>;
  registry: Registry;
  logger: Logger;
  limits: Limits;
  /** Comment line interval of server-sent event streams (default 15 s). */
  sseHeartbeatMs?: number;
  /** Folder of the built web app served at `/` (default dist/public of this package). */
  webRoot?: string;
  /** Per-key and per-IP request budgets; none: unlimited. */
  rateLimits?: RateLimits;
}

/**
 * Every REST operation of the gateway, in the order express registers them.
 * `openApiDocument` is served by GET /openapi.json (built from this same list).
 */
export function createRoutes(deps: AppDeps, openApiDocument: () => object): Route[] {
  return [
    ...datasetRoutes(deps),
    ...uploadRoutes(deps),
    ...importRoutes(deps),
    ...itemRoutes(deps),
    ...exportRoutes(deps),
    ...trainingRunRoutes(deps),
    ...modelRoutes(deps),
    ...activeLearningRoutes(deps),
    ...predictionRoutes(deps),
    ...apiKeyRoutes(deps),
    ...operationalRoutes(deps, openApiDocument),
  ];
}

export function createApp(deps: AppDeps): express.Express {
  const { logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Only X-Forwarded-* from a proxy we run behind would matter; we use none of it.
  app.set('trust proxy', false);

  let document: object | undefined;
  const routes = createRoutes(deps, () => (document ??= buildOpenApiDocument(routes)));
  app.use(requestContext(logger, createHttpMetrics(deps.registry)));
  for (const route of routes) app[route.method](toExpressPath(route.path), ...pipeline(route, deps));
  // After the API, so no file or app page can shadow an API path.
  app.use(...webApp(deps.webRoot ?? DEFAULT_WEB_ROOT, logger));

  app.use((req, _res, next) => {
    next(new HttpProblem(404, `There is no ${req.method} ${req.path}.`));
  });
  // Four parameters: that is how express tells an error handler.
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const problem = toProblem(err, logger);
    // A streamed response already started: all that is left is to cut it short.
    if (res.headersSent) {
      logger.warn({ err, status: problem.status }, 'response failed after headers were sent');
      res.destroy();
      return;
    }
    sendProblem(req, res, problem);
  };
  app.use(onError);
  return app;
}

function pipeline(route: Route, deps: AppDeps): RequestHandler[] {
  const handlers: RequestHandler[] = [
    (_req, res, next) => {
      res.locals.route = route.path;
      next();
    },
  ];
  if (route.access !== 'public') handlers.push(authenticate(deps.apiKeys, route.access, deps.rateLimits));
  handlers.push(datasetScope(route, deps));
  if (route.json) {
    handlers.push((req, _res, next) => {
      // req.is: null without a body (zod then reports the missing body), false for another type;
      // an empty body (Content-Length: 0, as fetch sends for a bare POST) is no body either.
      if (req.is('application/json') === false && req.get('content-length') !== '0') {
        next(new HttpProblem(415, 'Send the request body as application/json.'));
        return;
      }
      next();
    });
    handlers.push(express.json({ limit: deps.limits.maxJsonBytes, strict: true, verify: requireUtf8 }));
  }
  handlers.push((req, res, next) => {
    const errors: ProblemEntry[] = [];
    const params = validate('params', route.params, req.params, errors);
    const query = validate('query', route.query, req.query, errors);
    const body = validate('body', route.json, req.body, errors);
    if (errors.length > 0) {
      next(new HttpProblem(400, `The request is invalid: ${errors[0]!.path} ${errors[0]!.reason}`, { errors }));
      return;
    }
    const principal = res.locals.principal as ApiKeyRecord | undefined;
    const requestId = res.locals.requestId as string;
    // Run the handler inside the request id's context so outgoing gRPC calls carry it.
    runWithRequestId(requestId, () => route.handler({ req, res, params, query, body, principal })).catch(next);
  });
  return handlers;
}

/**
 * Dataset-scoped keys and soft-deleted datasets (auth/dataset-scope.ts), before any body is read:
 * a dataset the caller may not see is a 404 whatever it sent. Params that do not validate are left
 * to the validation step (400).
 */
function datasetScope(route: Route, deps: AppDeps): RequestHandler {
  return (req, res, next) => {
    const params = route.params ? route.params.safeParse(req.params) : { success: true as const, data: {} };
    if (!params.success) {
      next();
      return;
    }
    const principal = res.locals.principal as ApiKeyRecord | undefined;
    runWithRequestId(res.locals.requestId as string, () =>
      checkDatasetScope(route, principal, params.data as Record<string, string>, deps),
    ).then(() => next(), next);
  };
}

/** body-parser would decode invalid UTF-8 to U+FFFD and carry on; a name silently changed is refused instead. */
function requireUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw new HttpProblem(400, 'The request body is not valid UTF-8.');
}

function validate(where: string, schema: z.ZodType | undefined, value: unknown, errors: ProblemEntry[]): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    errors.push({ path: [where, ...issue.path.map(String)].join('.'), code: issue.code, reason: issue.message });
  }
  return undefined;
}
