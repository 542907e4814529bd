export { createSegmindClient, type SegmindClient, type SegmindClientOptions } from './client.js';
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
} from './simulator.js';
export { SAFETY_FAILURE_MESSAGE } from './simulator-jobs.js';
export * from './types.js';
