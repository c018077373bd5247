// Datasets: create (admin), list and read with statistics (viewer), soft delete and restore (admin).
import type { AppDeps } from '../app.js';
import { isScoped } from '../auth/dataset-scope.js';
import { HttpProblem } from '../problem.js';
import { CreateDatasetBody, IdParams, ListDatasetsQuery } from '../openapi/requests.js';
import { Dataset, DatasetPage, DatasetWithStatistics } from '../openapi/schemas.js';
import { actorOf, defineRoute, type Route } from './route.js';

export function datasetRoutes({ dataset, logger }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/datasets',
      operationId: 'createDataset',
      summary: 'Create a dataset',
      tag: 'datasets',
      access: 'admin',
      json: CreateDatasetBody,
      responses: {
        201: { description: 'Created', schema: Dataset, headers: { Location: 'URL of the new dataset' } },
      },
      handler: async ({ res, body }) => {
        const created = await dataset.createDataset(body);
        res.status(201).location(`/v1/datasets/${encodeURIComponent(created.id)}`).json(created);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/datasets',
      operationId: 'listDatasets',
      summary: 'List datasets',
      tag: 'datasets',
      access: 'viewer',
      query: ListDatasetsQuery,
      responses: { 200: { description: 'One page of datasets', schema: DatasetPage } },
      handler: async ({ res, query, principal }) => {
        if (query.deleted && principal?.role !== 'admin') {
          throw new HttpProblem(403, 'Listing deleted datasets needs the admin role.');
        }
        // A scoped key sees its own datasets only.
        const ids = isScoped(principal) ? principal.datasets : null;
        res.json(await dataset.listDatasets(query.limit, query.cursor, { deleted: query.deleted, ids }));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}',
      operationId: 'getDataset',
      summary: 'A dataset with its statistics',
      tag: 'datasets',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The dataset', schema: DatasetWithStatistics } },
      handler: async ({ res, params }) => {
        res.json(await dataset.getDataset(params.id));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/datasets/{id}',
      operationId: 'deleteDataset',
      summary: 'Delete a dataset (restorable until purgeAfter)',
      description:
        'A soft delete: the dataset disappears from lists and every route answers 404 for it, its items, ' +
        'imports and models, but nothing is removed until the retention period (DATASET_RETENTION of the ' +
        'dataset service, default 30 days) is over; until then POST /v1/datasets/{id}/restore brings it back ' +
        'as it was. Deleted datasets are listed by GET /v1/datasets?deleted=true.',
      tag: 'datasets',
      access: 'admin',
      params: IdParams,
      responses: { 200: { description: 'The deleted dataset, with deletedAt and purgeAfter', schema: Dataset } },
      handler: async ({ res, params, principal }) => {
        const deleted = await dataset.deleteDataset(params.id, actorOf(principal));
        logger.info({ datasetId: deleted.id, keyName: actorOf(principal), purgeAfter: deleted.purgeAfter }, 'dataset deleted');
        res.json(deleted);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/datasets/{id}/restore',
      operationId: 'restoreDataset',
      summary: 'Restore a deleted dataset',
      description:
        '404 when the dataset is not deleted or was purged; 422 once its retention is over; 409 when a ' +
        'live dataset has taken its name meanwhile.',
      tag: 'datasets',
      access: 'admin',
      params: IdParams,
      responses: { 200: { description: 'The restored dataset', schema: Dataset } },
      handler: async ({ res, params, principal }) => {
        const restored = await dataset.restoreDataset(params.id, actorOf(principal));
        logger.info({ datasetId: restored.id, keyName: actorOf(principal) }, 'dataset restored');
        res.json(restored);
      },
    }),
  ];
}
