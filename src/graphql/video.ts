import type { Video } from '../media/video-view.js';
import { builder } from './builder.js';

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
