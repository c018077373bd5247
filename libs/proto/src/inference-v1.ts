// labelloop.inference.v1: messages and the InferenceService definition.
export * from './gen/labelloop/inference/v1/inference_service.js';
