// Operational endpoints, open without a key: liveness, readiness, metrics, the OpenAPI document.
import type { AppDeps } from '../app.js';
import { Readiness } from '../openapi/schemas.js';
import { HttpProblem, type ProblemEntry } from '../problem.js';
import { defineRoute, type Route } from './route.js';

const READINESS_TIMEOUT_MS = 2000;

export function operationalRoutes({ dataset, db, registry, logger }: AppDeps, openApiDocument: () => object): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'liveness',
      summary: 'The process is alive',
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: 'Alive', binary: ['text/plain'] } },
      handler: async ({ res }) => {
        res.type('text/plain').send('ok\n');
      },
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'readiness',
      summary: 'Ready to serve: the dataset service is SERVING and the database answers',
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: 'Ready', schema: Readiness } },
      handler: async ({ res }) => {
        const [datasetCheck, databaseCheck] = await Promise.allSettled([
          dataset.isServing(READINESS_TIMEOUT_MS),
          withTimeout(db.ping(), READINESS_TIMEOUT_MS),
        ]);
        const errors: ProblemEntry[] = [];
        if (datasetCheck.status === 'rejected' || !datasetCheck.value) {
          const reason =
            datasetCheck.status === 'rejected'
              ? `health check failed: ${(datasetCheck.reason as Error).message}`
              : 'not SERVING';
          errors.push({ path: 'dataset', code: 'dataset_not_serving', reason: `dataset service ${reason}` });
        }
        if (databaseCheck.status === 'rejected') {
          errors.push({ path: 'database', code: 'database_unavailable', reason: 'the database does not answer' });
        }
        if (errors.length > 0) {
          logger.warn({ checks: errors.map((e) => e.code) }, 'not ready');
          throw new HttpProblem(503, 'The gateway is not ready.', { errors, headers: { 'Retry-After': '5' } });
        }
        res.json({ status: 'ready', checks: { dataset: 'serving', database: 'ok' } });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics of this process',
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: 'Prometheus text format', binary: ['text/plain'] } },
      handler: async ({ res }) => {
        const body = await registry.metrics();
        res.setHeader('Content-Type', registry.contentType);
        res.send(body);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document',
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: 'The document', binary: ['application/json'] } },
      handler: async ({ res }) => {
        res.json(openApiDocument());
      },
    }),
  ];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
