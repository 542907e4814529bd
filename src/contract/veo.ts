/**
 * The facts of Segmind's `veo-3.1-fast` model that the API promises its clients, in one table: what a request may
 * ask for, what it costs, and how large a frame may be. The server's validation and pricing, the Segmind client,
 * the simulator, the command-line client and the web page all read them from here (see shared/segmind-api.md).
 * Plain data with no imports, so a client can take it without any server code.
 */
export const VEO = {
  /** Allowed `aspect_ratio` values; the first is the default. */
  aspectRatios: ['16:9', '9:16'],
  /** Allowed `duration` values in seconds; the last is the default. */
  durationsSeconds: [4, 6, 8],
  /** Allowed `resolution` values; the last is the default. */
  resolutions: ['720p', '1080p'],
  /** Largest `seed` Google accepts (unsigned 32-bit). */
  maxUpstreamSeed: 4_294_967_295,
  /** Largest seed this API accepts: a GraphQL Int is signed 32-bit. */
  maxSeed: 2_147_483_647,
  /** List price per second of video, in US cents, with and without generated audio. */
  centsPerSecond: { withAudio: 15, withoutAudio: 10 },
  /** Google's limit for an input image (first or last frame), in bytes. */
  maxFrameBytes: 20 * 1024 * 1024,
} as const;

export type VeoAspectRatio = (typeof VEO.aspectRatios)[number];
export type VeoDuration = (typeof VEO.durationsSeconds)[number];
export type VeoResolution = (typeof VEO.resolutions)[number];

/** The list price of one generation in US cents: every second of video at the rate for its audio choice. */
export function veoPriceCents(request: { durationSeconds: number; generateAudio: boolean }): number {
  return request.durationSeconds * (request.generateAudio ? VEO.centsPerSecond.withAudio : VEO.centsPerSecond.withoutAudio);
}
