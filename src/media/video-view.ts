import type { GenerationRow, StoryRow } from '../db/schema.js';
import { lastFramePath, posterPath, signVideo, storyVideoKey, videoPath } from '../storage/video-route.js';
import { askedSize } from './asked-video.js';

/*
 * A stored video as clients see it, in one place for the GraphQL `Video` type and webhook payloads: signed links
 * to it and its stills, and its probed facts (the request's, for rows stored before probing).
 */

/** A stored video as the API shows it. */
export interface Video {
  url: string;
  contentType: string;
  sizeBytes: number;
  durationSeconds: number;
  width: number;
  height: number;
  hasAudio: boolean;
  posterUrl: string | null;
  lastFrameUrl: string | null;
  stillsError: string | null;
}

/** Said of videos stored before probing and stills existed: their facts are the request's, and they have no stills. */
export const STORED_BEFORE_STILLS = 'This video was stored before posters and last frames were made, so it has none.';

/** What signing links needs: the API's base URL and the secret and lifetime of video tokens. */
export interface VideoLinks {
  publicUrl: string;
  videoSigningSecret: Buffer;
  videoUrlTtlSeconds: number;
}

/** The links of one stored video, signed with one token (the stills share the video's). */
function linksOf(links: VideoLinks, id: string, hasStills: boolean) {
  const query = signVideo(links.videoSigningSecret, id, links.videoUrlTtlSeconds);
  return {
    url: `${links.publicUrl}${videoPath(id)}?${query}`,
    posterUrl: hasStills ? `${links.publicUrl}${posterPath(id)}?${query}` : null,
    lastFrameUrl: hasStills ? `${links.publicUrl}${lastFramePath(id)}?${query}` : null,
  };
}

/** A SUCCEEDED generation's video, or null when it has none (not finished, or deleted by retention). */
export function generationVideo(g: GenerationRow, links: VideoLinks): Video | null {
  if (g.status !== 'SUCCEEDED' || !g.videoKey || g.videoExpiredAt) return null;
  const probed = g.videoDurationSeconds !== null;
  const asked = askedSize(g);
  const hasStills = g.posterKey !== null && g.lastFrameKey !== null;
  return {
    ...linksOf(links, g.id, hasStills),
    contentType: g.videoContentType ?? 'video/mp4',
    sizeBytes: g.videoSizeBytes ?? 0,
    durationSeconds: g.videoDurationSeconds ?? g.durationSeconds,
    width: g.videoWidth ?? asked.width,
    height: g.videoHeight ?? asked.height,
    hasAudio: g.videoHasAudio ?? g.generateAudio,
    stillsError: hasStills ? null : (g.stillsError ?? (probed ? null : STORED_BEFORE_STILLS)),
  };
}

/** A SUCCEEDED story's stitched video, or null when it has none (not finished, or deleted by retention). */
export function storyVideo(story: StoryRow, links: VideoLinks): Video | null {
  if (story.status !== 'SUCCEEDED' || !story.videoKey || story.videoExpiredAt) return null;
  const hasStills = story.posterKey !== null && story.lastFrameKey !== null;
  return {
    ...linksOf(links, storyVideoKey(story.id), hasStills),
    contentType: story.videoContentType ?? 'video/mp4',
    sizeBytes: story.videoSizeBytes ?? 0,
    // A story's video is always probed before it succeeds; the fallbacks only satisfy the types.
    durationSeconds: story.videoDurationSeconds ?? 0,
    width: story.videoWidth ?? 0,
    height: story.videoHeight ?? 0,
    hasAudio: story.videoHasAudio ?? story.generateAudio,
    stillsError: hasStills ? null : story.stillsError,
  };
}
