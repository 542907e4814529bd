import { API_ERROR_CODES } from '../../contract/tables.js';
/** Plain-language wording for statuses, error codes and numbers. */
import type { GenerationStatus as Status, PageGenerateVideoMutation } from '../../contract/generated/page/graphql.js';
import type { Money } from './store.js';

type GenerateVideoResult = PageGenerateVideoMutation['generateVideo'];

export const STATUS_WORDS: Record<Status, string> = {
  QUEUED: 'Waiting in line',
  SUBMITTED: 'Sent to the model',
  PROCESSING: 'Making your video',
  STORING: 'Saving the video',
  SUCCEEDED: 'Ready',
  FAILED: 'Failed',
  CANCELED: 'Canceled',
};

/** What a generation's error code means for the person who asked, and what they can do. */
export const FAILURE_WORDS: Record<string, string> = {
  CONTENT_BLOCKED:
    'The model refused this prompt or image for safety reasons. Nothing was charged. Reword the prompt or use another image.',
  GENERATION_FAILED: 'The model could not make this video. Trying again often works.',
  INSUFFICIENT_CREDITS: "The server's Segmind account has run out of credits. Ask the operator to top it up.",
  INTERNAL: 'Something went wrong on the server. Try again; if it keeps happening, tell the operator.',
  INVALID_INPUT: 'Segmind rejected these settings. Check the frames and options and try again.',
  MODEL_UNAVAILABLE: 'The video model is not available right now. Try again later.',
  RESULT_EXPIRED: 'Segmind no longer has this video (results are kept for an hour). Generate it again.',
  STORAGE_FAILED: 'The finished video could not be saved on the server. Try again.',
  TIMEOUT: 'The video took too long and was given up. Try again.',
  UPSTREAM_FORBIDDEN: "The server's Segmind account may not use this model. Tell the operator.",
  UPSTREAM_UNAUTHORIZED: "The server's Segmind key was rejected. Tell the operator.",
  UPSTREAM_UNAVAILABLE: 'Segmind could not be reached or kept failing. Try again in a few minutes.',
  CONTINUE_FROM_UNAVAILABLE:
    'The scene this continues from has no last frame any more (its video was deleted or its frame could not be read). Nothing was charged. Start from an image instead.',
  UPSTREAM_UNREADABLE:
    'Segmind took this job but sent an answer the server could not read, so it cannot be followed. It was not sent again; it may still be charged. Generate it again.',
};

/** Wording for errors the API answers with (extensions.code), as opposed to a generation's failure. */
export const API_ERROR_WORDS: Record<string, string> = {
  [API_ERROR_CODES.UNAUTHENTICATED]: 'Your API key is missing or was not accepted. Enter a valid key below.',
  [API_ERROR_CODES.RATE_LIMITED]: 'Too many requests or live updates at once. Wait a moment and try again.',
  NETWORK: 'The server cannot be reached. Check your connection; the page reconnects by itself.',
};

export const money = (value: Money) => (value.currency === 'USD' ? `$${value.amount}` : `${value.amount} ${value.currency}`);

export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

export function fileSize(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** What probing the stored file found, e.g. "8.0 s · 1920×1080 · with sound". */
export function videoFacts(video: { durationSeconds: number; width: number; height: number; hasAudio: boolean }): string {
  return `${video.durationSeconds.toFixed(1)} s · ${video.width}×${video.height} · ${video.hasAudio ? 'with sound' : 'silent'}`;
}

export const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const dateTime = (iso: string) =>
  new Date(iso).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** The API's field names, as this form labels them. */
const FIELD_WORDS: [RegExp, string][] = [
  [/^Give image or imageFile\b/, 'Give the first frame as a URL or as a file'],
  [/^Give lastFrame or lastFrameFile\b/, 'Give the last frame as a URL or as a file'],
  [/\bneeds image\b/g, 'needs a first frame'],
  [/\blastFrameFile\b/g, 'the last frame file'],
  [/\bimageFile\b/g, 'the first frame file'],
  [/\blastFrame\b/g, 'the last frame'],
  [/\bnegativePrompt\b/g, 'the negative prompt'],
  [/\bdurationSeconds\b/g, 'the duration'],
  [/\bidempotencyKey\b/g, 'the request key'],
  // Plain words ("image", "seed") are field names only where the server's sentences start with them.
  [/^image\b/, 'the first frame'],
  [/^seed\b/, 'the seed'],
  [/^prompt\b/, 'the prompt'],
];

/** A server message in the form's words (its field names replaced by the labels), starting with a capital. */
export function inPageWords(message: string): string {
  const words = FIELD_WORDS.reduce((text, [name, label]) => text.replace(name, label), message);
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Why a budget refused this video, when it resets, and what to do instead. */
export function budgetWords(error: Extract<GenerateVideoResult, { __typename: 'BudgetExceededError' }>): string {
  const whose = error.scope === 'KEY' ? "Your API key's" : "The server's";
  return (
    `${whose} daily budget is ${money(error.limit)}, ${money(error.used)} of it is used today, and this video costs ` +
    `${money(error.price)}. The budget resets at ${dateTime(error.resetsAt)}; until then, make a shorter video or one without sound.`
  );
}
