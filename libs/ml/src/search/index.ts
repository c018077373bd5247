export { DEFAULT_SEARCH_SPACE, searchSpace, sampleConfig, type SearchSpace } from './search-space.js';
export {
  createRandomSearch,
  createSuccessiveHalving,
  proposeTrials,
  recordResult,
  recordFailure,
  requeueTrial,
  isFinished,
  best,
  type SearchState,
  type Trial,
  type TrialResult,
  type TrialRecord,
  type TrialStatus,
} from './search.js';
export { runSearch, type RunSearchOptions } from './run-search.js';
