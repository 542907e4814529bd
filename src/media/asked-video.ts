import type { VerifiedVideo } from '../storage/probe.js';

/** What a generation asked for, as far as the file can show it. */
export interface AskedVideo {
  aspectRatio: string;
  resolution: string;
  durationSeconds: number;
}

/** Frame size Veo makes for an aspect ratio and resolution: 16:9 1080p is 1920×1080, 9:16 720p is 720×1280. */
export function askedSize(asked: Pick<AskedVideo, 'aspectRatio' | 'resolution'>): { width: number; height: number } {
  const short = asked.resolution === '720p' ? 720 : 1080;
  const long = Math.round((short * 16) / 9);
  return asked.aspectRatio === '9:16' ? { width: short, height: long } : { width: long, height: short };
}

/**
 * How far the duration may be off before it counts as different: rounding of the last frame and audio priming
 * move it by a fraction of a second, so only more than 1 s and more than 15 % of the asked length counts.
 */
const durationTolerance = (askedSeconds: number) => Math.max(1, askedSeconds * 0.15);

/** The event data and message of a video that is not what was asked; null when it is. */
export interface VideoDifference {
  data: {
    asked: { durationSeconds: number; width: number; height: number };
    got: { durationSeconds: number; width: number; height: number };
  };
  message: string;
}

const seconds = (value: number) => `${Number(value.toFixed(2))} s`;

/** Compares the probed file with the request: a size that is not the asked one, or a length far from it. */
export function videoDifference(asked: AskedVideo, got: Pick<VerifiedVideo, 'durationSeconds' | 'width' | 'height'>): VideoDifference | null {
  const size = askedSize(asked);
  const sizeDiffers = got.width !== size.width || got.height !== size.height;
  const durationDiffers = Math.abs(got.durationSeconds - asked.durationSeconds) > durationTolerance(asked.durationSeconds);
  if (!sizeDiffers && !durationDiffers) return null;
  const parts = [
    ...(sizeDiffers ? [`${got.width}×${got.height} instead of ${size.width}×${size.height} (${asked.aspectRatio} ${asked.resolution})`] : []),
    ...(durationDiffers ? [`${seconds(got.durationSeconds)} long instead of ${seconds(asked.durationSeconds)}`] : []),
  ];
  return {
    data: {
      asked: { durationSeconds: asked.durationSeconds, ...size },
      got: { durationSeconds: got.durationSeconds, width: got.width, height: got.height },
    },
    message: `The video is ${parts.join(' and ')}. It is kept as it was made; durationSeconds, width and height tell what it is.`,
  };
}
