// Generated protobuf code (ts-proto), grouped by proto package. Never edit src/gen by hand:
// change proto/ and run `npm run generate`.
export * as commonV1 from './gen/labelloop/common/v1/common.js';
export * as datasetV1 from './dataset-v1.js';
export * as trainingV1 from './training-v1.js';
export * as inferenceV1 from './inference-v1.js';
export { Timestamp } from './gen/google/protobuf/timestamp.js';
export { descriptorSetBase64 } from './gen/descriptor-set.js';
