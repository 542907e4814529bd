/** Why a generation failed; stable names clients can switch on. */
export const generationErrorCodes = {
  CONTENT_BLOCKED: 'The model refused the prompt or image on safety grounds. Nothing is charged; change the prompt or image.',
  GENERATION_FAILED: 'The model could not produce the video.',
  INVALID_INPUT: 'Segmind rejected the request parameters.',
  UPSTREAM_UNAUTHORIZED: "The server's Segmind API key was rejected. The operator must fix SEGMIND_API_KEY.",
  UPSTREAM_FORBIDDEN: "The server's Segmind account may not use this model.",
  INSUFFICIENT_CREDITS: "The server's Segmind account is out of credits or over its spend limit.",
  MODEL_UNAVAILABLE: 'The model is not available at Segmind (unknown or retired).',
  UPSTREAM_UNAVAILABLE: 'Segmind could not be reached or kept failing; retries were exhausted.',
  UPSTREAM_UNREADABLE:
    'Segmind accepted the submission (HTTP 2xx) but its answer could not be read, so the job cannot be followed. It was not sent again; its charge may apply. Ask for a new generation.',
  RESULT_EXPIRED: 'Segmind no longer has this job (records expire an hour after submission).',
  TIMEOUT: 'The generation did not finish before its deadline.',
  STORAGE_FAILED: 'The finished video could not be downloaded into storage.',
  INVALID_RESULT: 'The finished result was not a playable MP4 video (no video track, no duration, cut off, or not MP4 at all), so it was not kept. Segmind may still bill the job.',
  INTERNAL: 'Something unexpected went wrong on our side.',
} as const;

export type GenerationErrorCode = keyof typeof generationErrorCodes;
