export { createSegmindClient, type SegmindClient, type SegmindClientOptions } from './api.js';
export {
  SegmindError,
  isSegmindError,
  kindForHttpStatus,
  parseRateLimitReset,
  type SegmindErrorKind,
  type SegmindErrorOptions,
} from './errors.js';
export {
  createSegmindSimulator,
  type SegmindSimulator,
  type SegmindSimulatorOptions,
  type SimulatedJobInfo,
  type SimulatorEndpoint,
  type SimulatorFault,
} from './simulator/index.js';
export { SAFETY_FAILURE_MESSAGE } from './simulator/jobs.js';
export * from './types.js';
