// The model registry: list and read models (viewer), promote a model or roll the champion
// back by hand (admin), and the dataset's retrain policy (read: viewer, change: admin).
import type { AppDeps } from '../app.js';
import { IdParams } from '../openapi/requests.js';
import { RetrainPolicyBody } from '../openapi/training-requests.js';
import { Model, ModelList, RetrainPolicy } from '../openapi/training-schemas.js';
import { actorOf, defineRoute, type Route } from './route.js';

export function modelRoutes({ trainer, logger }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}/models',
      operationId: 'listModels',
      summary: 'Models of a dataset, newest version first',
      tag: 'models',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The models', schema: ModelList } },
      handler: async ({ res, params }) => {
        res.json({ models: await trainer.listModels(params.id) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/models/{id}',
      operationId: 'getModel',
      summary: 'A model: metrics per split, confusion matrix, per-class recall, hyper-parameters, snapshot',
      tag: 'models',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The model', schema: Model } },
      handler: async ({ res, params }) => {
        res.json(await trainer.getModel(params.id));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/models/{id}/promote',
      operationId: 'promoteModel',
      summary: 'Make a model its dataset’s champion',
      description: 'By hand, whatever the automatic comparison said; publishes model.promoted.',
      tag: 'models',
      access: 'admin',
      params: IdParams,
      responses: { 200: { description: 'The model, now champion', schema: Model } },
      handler: async ({ res, params, principal }) => {
        const model = await trainer.promoteModel(params.id, actorOf(principal));
        logger.info({ modelId: model.id, version: model.version, keyName: actorOf(principal) }, 'model promoted');
        res.json(model);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/datasets/{id}/models/rollback',
      operationId: 'rollbackModel',
      summary: 'Give the champion role back to the previous champion',
      tag: 'models',
      access: 'admin',
      params: IdParams,
      responses: { 200: { description: 'The champion after the rollback', schema: Model } },
      handler: async ({ res, params, principal }) => {
        const model = await trainer.rollback(params.id, actorOf(principal));
        logger.info({ datasetId: params.id, version: model.version, keyName: actorOf(principal) }, 'champion rolled back');
        res.json(model);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}/retrain-policy',
      operationId: 'getRetrainPolicy',
      summary: 'When the dataset retrains by itself, and how a new model gets promoted',
      tag: 'models',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The policy', schema: RetrainPolicy } },
      handler: async ({ res, params }) => {
        res.json(await trainer.getRetrainPolicy(params.id));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/datasets/{id}/retrain-policy',
      operationId: 'setRetrainPolicy',
      summary: 'Change the retrain policy',
      description: 'Fields left out keep their current value.',
      tag: 'models',
      access: 'admin',
      params: IdParams,
      json: RetrainPolicyBody,
      responses: { 200: { description: 'The policy now', schema: RetrainPolicy } },
      handler: async ({ res, params, body }) => {
        res.json(await trainer.setRetrainPolicy(params.id, body));
      },
    }),
  ];
}
