// labelloop.training.v1: messages, the TrainerService definition and its events.
export * from './gen/labelloop/training/v1/training.js';
export * from './gen/labelloop/training/v1/trainer_service.js';
export * from './gen/labelloop/training/v1/training_events.js';
// Each generated file declares these helpers; name one copy to settle the ambiguity.
export {
  type DeepPartial,
  type MessageFns,
  protobufPackage,
  protobufFileName,
} from './gen/labelloop/training/v1/training.js';
