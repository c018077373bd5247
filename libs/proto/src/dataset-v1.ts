// labelloop.dataset.v1: messages, the DatasetService definition and its events.
export * from './gen/labelloop/dataset/v1/dataset.js';
export * from './gen/labelloop/dataset/v1/dataset_service.js';
export * from './gen/labelloop/dataset/v1/dataset_events.js';
// Each generated file declares these helpers; name one copy to settle the ambiguity.
export * from './gen/labelloop/dataset/v1/active_learning.js';
export { type DeepPartial, type MessageFns, protobufPackage, protobufFileName } from './gen/labelloop/dataset/v1/dataset.js';
