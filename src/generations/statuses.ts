import { generationStatuses, type GenerationStatus } from '../db/schema.js';

/**
 * The life of a generation. The list of statuses is the column's enum (db/schema.ts), so the database and the
 * code cannot disagree about it; what the statuses mean is decided here.
 *
 *   QUEUED      admitted, waiting for a worker (or for its uploaded frames); not yet sent to Segmind
 *   SUBMITTED   Segmind accepted the job and gave it an id; from here on it is billed
 *   PROCESSING  Segmind says it is generating the video
 *   STORING     Segmind finished; the video is being copied into our storage
 *   SUCCEEDED   the video is stored
 *   FAILED      it ended without a video (see its error code)
 *   CANCELED    a client or a key revocation stopped it
 */
export { generationStatuses, type GenerationStatus };

/** The statuses a generation never leaves: nothing changes it any more, and cancel has nothing to stop. */
export const terminalStatuses: readonly GenerationStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];

/**
 * The statuses of a generation still under way. They count against a key's active cap and every day's spend
 * (a job running past midnight is billed on both days), and only a row in one of them may change.
 */
export const activeStatuses: readonly GenerationStatus[] = generationStatuses.filter((status) => !terminalStatuses.includes(status));

export const isTerminal = (status: GenerationStatus): boolean => terminalStatuses.includes(status);
