// Datasets: create (admin), list and read with statistics (viewer).
import type { AppDeps } from '../app.js';
import { CreateDatasetBody, IdParams, ListDatasetsQuery } from '../openapi/requests.js';
import { Dataset, DatasetPage, DatasetWithStatistics } from '../openapi/schemas.js';
import { defineRoute, type Route } from './route.js';

export function datasetRoutes({ dataset }: AppDeps): Route[] {
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
      handler: async ({ res, query }) => {
        res.json(await dataset.listDatasets(query.limit, query.cursor));
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
  ];
}
