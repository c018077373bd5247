// Which dataset a request acts on, derived from its route's path template, for two checks made
// before the handler runs:
//  - dataset-scoped keys: a key created with `datasets: [...]` may act only on those datasets.
//    Another dataset's resources answer 404 exactly like unknown ids (a scoped key learns nothing
//    about datasets outside its scope); operations that are not about one dataset answer 403,
//    except the few that make sense for any key (listing datasets is filtered, /v1/me).
//  - soft-deleted datasets: routes served by the trainer or inference service, which do not know
//    about deletions, first check that the dataset is live (the dataset service's own routes
//    already answer 404 for a deleted dataset and its items, imports and jobs).
// The table is keyed by path prefix, so a new route under an existing prefix is covered at once,
// and a route that matches nothing is treated as global (403 for scoped keys): safe by default.
import type { AppDeps } from '../app.js';
import type { HttpMethod, Route } from '../routes/route.js';
import { HttpProblem } from '../problem.js';
import type { ApiKeyRecord } from './api-key-store.js';

type Params = Record<string, string>;
type Resolve = (deps: Pick<AppDeps, 'dataset' | 'trainer'>, params: Params) => Promise<string>;

export interface DatasetScope {
  /** What the path's {id} names, for the 404 message. */
  resource: string;
  resolve: Resolve;
  /** The handler calls a service that does not know about deletions: check the dataset is live first. */
  checkLive: boolean;
}

const byPrefix: Array<{ prefix: string; scope: (rest: string) => DatasetScope }> = [
  {
    prefix: '/v1/datasets/{id}',
    scope: (rest) => ({
      resource: 'dataset',
      resolve: async (_deps, params) => params.id!,
      checkLive: /^\/(training-runs|models|retrain-policy|predict)(\/|$)/.test(rest),
    }),
  },
  {
    prefix: '/v1/items/{id}',
    scope: () => ({ resource: 'item', resolve: async ({ dataset }, p) => (await dataset.getItem(p.id!)).datasetId, checkLive: false }),
  },
  {
    prefix: '/v1/imports/{id}',
    scope: () => ({ resource: 'import', resolve: async ({ dataset }, p) => (await dataset.getImport(p.id!)).datasetId, checkLive: false }),
  },
  {
    prefix: '/v1/training-runs/{id}',
    scope: () => ({ resource: 'training run', resolve: async ({ trainer }, p) => (await trainer.getRun(p.id!)).datasetId, checkLive: true }),
  },
  {
    prefix: '/v1/models/{id}',
    scope: () => ({ resource: 'model', resolve: async ({ trainer }, p) => (await trainer.getModel(p.id!)).datasetId, checkLive: true }),
  },
];

/** Operations that are not about one dataset but that a scoped key may still use. */
export const SCOPED_KEY_GLOBAL_ROUTES: ReadonlySet<string> = new Set(['get /v1/datasets', 'get /v1/me']);

export function routeKey(method: HttpMethod, path: string): string {
  return `${method} ${path}`;
}

/** The dataset a route acts on, or undefined for global routes. */
export function datasetScopeOf(path: string): DatasetScope | undefined {
  for (const { prefix, scope } of byPrefix) {
    if (path === prefix || path.startsWith(`${prefix}/`)) return scope(path.slice(prefix.length));
  }
  return undefined;
}

/** True when the key is limited to some datasets. */
export function isScoped(principal: ApiKeyRecord | undefined): principal is ApiKeyRecord & { datasets: string[] } {
  return principal?.datasets !== null && principal?.datasets !== undefined;
}

/**
 * The check itself (run after authentication): throws 403 for a scoped key on a global route,
 * 404 for a dataset outside its scope or a deleted one. Does nothing (and calls nothing) for
 * unscoped keys on routes that need no liveness check.
 */
export async function checkDatasetScope(
  route: Pick<Route, 'method' | 'path'>,
  principal: ApiKeyRecord | undefined,
  params: Params,
  deps: Pick<AppDeps, 'dataset' | 'trainer'>,
): Promise<void> {
  const scope = datasetScopeOf(route.path);
  const scoped = isScoped(principal);
  if (!scope) {
    if (scoped && !SCOPED_KEY_GLOBAL_ROUTES.has(routeKey(route.method, route.path))) {
      throw new HttpProblem(
        403,
        `The key '${principal.name}' is limited to ${principal.datasets.length} dataset(s); ` +
          `${route.method.toUpperCase()} ${route.path} is not about one dataset and needs an unscoped key.`,
      );
    }
    return;
  }
  if (!scoped && !scope.checkLive) return;
  const datasetId = await scope.resolve(deps, params);
  if (scoped && !principal.datasets.includes(datasetId.toLowerCase())) {
    throw new HttpProblem(404, `There is no ${scope.resource} ${params.id}.`);
  }
  if (scope.checkLive) await deps.dataset.requireDataset(datasetId);
}
