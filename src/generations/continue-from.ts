import type { Db } from '../db/open.js';
import type { GenerationRow } from '../db/schema.js';
import { InputError, InputErrorCode } from './errors.js';
import { findGeneration } from './lookup.js';

/**
 * `continueFrom`: a new generation whose first frame is the last frame of an earlier one of the same key. The
 * request is checked here, when it is made; the worker uploads the frame (worker/continue-frame.ts) and fails
 * the generation, uncharged, should the frame be gone by then.
 */

/** Whether a generation's last frame can still be had: already at Segmind, or in our storage next to its video. */
export const hasUsableLastFrame = (row: Pick<GenerationRow, 'lastFrameAssetUrl' | 'lastFrameKey' | 'videoExpiredAt'>): boolean =>
  row.videoExpiredAt === null && (row.lastFrameAssetUrl !== null || row.lastFrameKey !== null);

/**
 * The key's SUCCEEDED generation `id` names, with a last frame to start from. Throws {@link InputError} on
 * `continueFrom`, with a stable code, saying why not and what to do instead. An id of another key's generation
 * gets exactly the answer of an unknown id.
 */
export async function findContinuationSource(db: Db, apiKeyId: string, id: string): Promise<GenerationRow> {
  const refuse = (code: InputErrorCode, message: string): never => {
    throw new InputError('continueFrom', message, [{ field: 'continueFrom', message, code }], code);
  };
  const source = await findGeneration(db, apiKeyId, id);
  if (!source) {
    return refuse(
      InputErrorCode.CONTINUE_FROM_NOT_FOUND,
      `continueFrom: no generation with id "${id}" exists among yours. Give the id of one of your SUCCEEDED generations.`,
    );
  }
  if (source.status !== 'SUCCEEDED') {
    return refuse(
      InputErrorCode.CONTINUE_FROM_NOT_SUCCEEDED,
      `continueFrom: generation "${source.id}" is ${source.status}, and only a SUCCEEDED video has a last frame to continue from. ` +
        (source.completedAt ? 'Choose a generation that succeeded.' : 'Wait until it succeeds (follow generationStatus), then ask again.'),
    );
  }
  if (source.videoExpiredAt) {
    return refuse(
      InputErrorCode.CONTINUE_FROM_VIDEO_EXPIRED,
      `continueFrom: the video of generation "${source.id}" was deleted on ${source.videoExpiredAt.toISOString()} by the retention policy, ` +
        'and its last frame with it. Continue from a newer generation, or give the first frame as image or imageFile.',
    );
  }
  if (!hasUsableLastFrame(source)) {
    const why = source.stillsError ? ` (${source.stillsError})` : '';
    return refuse(
      InputErrorCode.CONTINUE_FROM_NO_LAST_FRAME,
      `continueFrom: the last frame of generation "${source.id}" could not be extracted when its video was stored${why}. ` +
        'Give the first frame as image or imageFile instead.',
    );
  }
  return source;
}
