// Items: list with filters, read one, its image, its label history, and labelling.
import type { AppDeps } from '../app.js';
import { IdParams, ListItemsQuery, SetLabelBody } from '../openapi/requests.js';
import { Item, ItemPage, LabelHistory } from '../openapi/schemas.js';
import { actorOf, defineRoute, type Route } from './route.js';

export function itemRoutes({ dataset }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}/items',
      operationId: 'listItems',
      summary: 'List items of a dataset',
      tag: 'items',
      access: 'viewer',
      params: IdParams,
      query: ListItemsQuery,
      responses: { 200: { description: 'One page of items', schema: ItemPage } },
      handler: async ({ res, params, query }) => {
        res.json(await dataset.listItems({ datasetId: params.id, ...query }));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/items/{id}',
      operationId: 'getItem',
      summary: 'One item',
      tag: 'items',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The item', schema: Item } },
      handler: async ({ res, params }) => {
        res.json(await dataset.getItem(params.id));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/items/{id}/image',
      operationId: 'getItemImage',
      summary: 'The image bytes of an item',
      description: 'Content-addressed: the ETag is the image’s SHA-256 and the response may be cached for good.',
      tag: 'items',
      access: 'viewer',
      params: IdParams,
      responses: {
        200: {
          description: 'The image',
          binary: ['image/png', 'image/jpeg', 'image/webp'],
          headers: { ETag: 'The SHA-256 of the bytes', 'Cache-Control': 'private, immutable' },
        },
        304: { description: 'If-None-Match matched' },
      },
      handler: async ({ req, res, params }) => {
        const image = await dataset.getItemImage(params.id);
        const etag = `"${image.sha256}"`;
        res.setHeader('ETag', etag);
        res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
        const ifNoneMatch = req.get('if-none-match');
        if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
          res.status(304).end();
          return;
        }
        res.type(image.contentType).send(image.content);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/items/{id}/labels',
      operationId: 'listLabelHistory',
      summary: 'Label history of an item, oldest first',
      tag: 'items',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The history', schema: LabelHistory } },
      handler: async ({ res, params }) => {
        res.json({ events: await dataset.listLabelHistory(params.id) });
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/items/{id}/label',
      operationId: 'setLabel',
      summary: 'Label an item (as a human)',
      description:
        'The actor is the API key’s name. With expectedVersion the change applies only if the item’s ' +
        'labelVersion still equals it; otherwise 409 (someone labelled it meanwhile: reload and retry).',
      tag: 'items',
      access: 'labeller',
      params: IdParams,
      json: SetLabelBody,
      responses: { 200: { description: 'The labelled item', schema: Item } },
      handler: async ({ res, params, body, principal }) => {
        res.json(await dataset.setHumanLabel(params.id, body.label, actorOf(principal), body.expectedVersion));
      },
    }),
  ];
}
