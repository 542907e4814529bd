import type { GenerationRow } from '../db/schema.js';
import { askedSize } from '../media/asked-video.js';
import { lastFramePath, posterPath, signVideo, videoPath } from '../storage/video-route.js';
import { builder, type AppContext } from './builder.js';

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

export const VideoRef = builder.objectRef<Video>('Video').implement({
  description: 'The finished video, stored by this server. The URL supports HTTP Range requests.',
  fields: (t) => ({
    url: t.exposeString('url'),
    contentType: t.exposeString('contentType'),
    sizeBytes: t.exposeInt('sizeBytes'),
    durationSeconds: t.exposeFloat('durationSeconds', {
      description:
        'Length of the video track, probed from the stored file (not the asked length). For videos stored before files were probed, the asked length.',
    }),
    width: t.exposeInt('width', {
      description: 'Display width in pixels, probed from the stored file. For videos stored before files were probed, the asked size.',
    }),
    height: t.exposeInt('height', {
      description: 'Display height in pixels, probed from the stored file. For videos stored before files were probed, the asked size.',
    }),
    hasAudio: t.exposeBoolean('hasAudio', {
      description: 'Whether the stored file has an audio track. For videos stored before files were probed, whether audio was asked for.',
    }),
    posterUrl: t.exposeString('posterUrl', {
      nullable: true,
      description:
        'The first frame as a JPEG at the video\'s size, signed and expiring like `url`. Null when it could not be extracted (`stillsError` says why) or the video predates stills.',
    }),
    lastFrameUrl: t.exposeString('lastFrameUrl', {
      nullable: true,
      description: 'The last frame as a JPEG, signed and expiring like `url`. Null exactly when `posterUrl` is.',
    }),
    stillsError: t.exposeString('stillsError', {
      nullable: true,
      description: 'Why `posterUrl` and `lastFrameUrl` are null, in words for a person; null when they are present.',
    }),
  }),
});

/** The links of one stored video by its name, signed with one token (the stills share the video's). */
export function links(ctx: AppContext, id: string, hasStills: boolean) {
  const query = signVideo(ctx.videoSigningSecret, id, ctx.videoUrlTtlSeconds);
  return {
    url: `${ctx.publicUrl}${videoPath(id)}?${query}`,
    posterUrl: hasStills ? `${ctx.publicUrl}${posterPath(id)}?${query}` : null,
    lastFrameUrl: hasStills ? `${ctx.publicUrl}${lastFramePath(id)}?${query}` : null,
  };
}

/** A SUCCEEDED generation's video, or null when it has none (not finished, or deleted by retention). */
export function generationVideo(g: GenerationRow, ctx: AppContext): Video | null {
  if (g.status !== 'SUCCEEDED' || !g.videoKey || g.videoExpiredAt) return null;
  const probed = g.videoDurationSeconds !== null;
  const asked = askedSize(g);
  const hasStills = g.posterKey !== null && g.lastFrameKey !== null;
  return {
    ...links(ctx, g.id, hasStills),
    contentType: g.videoContentType ?? 'video/mp4',
    sizeBytes: g.videoSizeBytes ?? 0,
    durationSeconds: g.videoDurationSeconds ?? g.durationSeconds,
    width: g.videoWidth ?? asked.width,
    height: g.videoHeight ?? asked.height,
    hasAudio: g.videoHasAudio ?? g.generateAudio,
    stillsError: hasStills ? null : (g.stillsError ?? (probed ? null : STORED_BEFORE_STILLS)),
  };
}
