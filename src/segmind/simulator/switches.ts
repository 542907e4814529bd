/**
 * The words in a prompt that steer the built-in simulator. Shared by the simulator, which acts on them, and by
 * the worker's estimate, so the progress bar and ETA of a `[sim:slow]` job tell the time it really takes.
 */
export const FAIL_SWITCH = '[sim:fail]';
export const SLOW_SWITCH = '[sim:slow]';
const SLOW_FACTOR = 10;

/** How many times the usual processing time the simulator takes for this prompt. */
export const simulatedDurationFactor = (prompt: string): number => (prompt.includes(SLOW_SWITCH) ? SLOW_FACTOR : 1);
