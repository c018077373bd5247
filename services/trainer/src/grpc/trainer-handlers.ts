import { InvalidArgumentError } from '@labelloop/common';
import { trainingV1 } from '@labelloop/proto';
import type { TrainerService } from '../domain/trainer-service.js';
import { hyperParametersFromProto, modelToProto, policyToProto, runToProto, searchFromProto, triggerFromProto } from './convert.js';

// labelloop.training.v1.TrainerService: proto ↔ domain mapping only; DomainErrors become status codes
// in the server middleware.

export function createTrainerHandlers(svc: TrainerService): trainingV1.TrainerServiceImplementation {
  return {
    async startTrainingRun(req) {
      const run = await svc.startRun({
        datasetId: req.datasetId,
        hyperParameters: req.hyperParameters ? hyperParametersFromProto(req.hyperParameters) : undefined,
        search: searchFromProto(req.search),
        trigger: triggerFromProto(req.trigger),
        requestedBy: req.requestedBy,
      });
      return { run: runToProto(run) };
    },
    async getTrainingRun(req) {
      return { run: runToProto(await svc.getRun(req.runId)) };
    },
    async listTrainingRuns(req) {
      const page = await svc.listRuns(req.datasetId, req.limit, req.cursor);
      return { runs: page.runs.map(runToProto), nextCursor: page.nextCursor };
    },
    async cancelTrainingRun(req) {
      return { run: runToProto(await svc.cancelRun(req.runId)) };
    },
    async *watchTrainingRun(req, context) {
      for await (const run of svc.watchRun(req.runId, context.signal)) yield { run: runToProto(run) };
    },
    async listModels(req) {
      return { models: (await svc.listModels(req.datasetId)).map(modelToProto) };
    },
    async getModel(req) {
      return { model: modelToProto(await svc.getModel(req.modelId)) };
    },
    async promoteModel(req) {
      return { model: modelToProto(await svc.promote(req.modelId, req.actor)) };
    },
    async rollbackModel(req) {
      return { model: modelToProto(await svc.rollback(req.datasetId, req.actor)) };
    },
    async getRetrainPolicy(req) {
      return { policy: policyToProto(await svc.getPolicy(req.datasetId)) };
    },
    async setRetrainPolicy(req) {
      if (!req.policy) throw new InvalidArgumentError('policy is required');
      return { policy: policyToProto(await svc.setPolicy({ ...req.policy })) };
    },
  };
}
