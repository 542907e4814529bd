import { FilePathSource, Input, MP4 } from 'mediabunny';

/**
 * What decides whether MP4 clips can be joined without re-encoding: the concat demuxer copies packets as they
 * are and the MP4 muxer keeps one sample description per track, so every clip must carry the same streams
 * with the same codec parameters.
 */

/** One clip's streams, as read from the file with mediabunny. */
export interface ClipFacts {
  /** The video track's length: what the clip adds to a film (its audio is cut or padded to it). */
  durationSeconds: number;
  video: {
    /** The codec and its parameters, e.g. `avc1.640028` (profile and level). */
    codec: string;
    /**
     * The decoder configuration record (avcC/hvcC) as hex: the SPS and PPS, so it also pins the pixel format
     * (chroma format and bit depth) and everything else the decoder is told once per track.
     */
    configuration: string;
    width: number;
    height: number;
    /** Frames per second, from the packets' timing, to two decimals. */
    frameRate: number;
    /** The track's time base: units per second. */
    timeResolution: number;
  };
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

/** How many packets the frame rate is measured over: enough for a steady average, few enough to stay quick. */
const FRAME_RATE_PACKETS = 120;

/** A clip that could not be read as an MP4 video. */
export class ClipReadError extends Error {
  override name = 'ClipReadError';
}

/** Reads the facts of the MP4 file at `path`. Throws {@link ClipReadError} when it is not an MP4 with a video track. */
export async function readClipFacts(path: string): Promise<ClipFacts> {
  const input = new Input({ formats: [MP4], source: new FilePathSource(path) });
  try {
    const video = await input.getPrimaryVideoTrack();
    if (!video) throw new ClipReadError('it has no video track');
    const audio = await input.getPrimaryAudioTrack();
    const config = await video.getDecoderConfig();
    const description = config?.description;
    const bytes =
      description === undefined
        ? new Uint8Array()
        : ArrayBuffer.isView(description)
          ? new Uint8Array(description.buffer, description.byteOffset, description.byteLength)
          : new Uint8Array(description);
    const stats = await video.computePacketStats(FRAME_RATE_PACKETS);
    return {
      durationSeconds: await video.computeDuration(),
      video: {
        codec: (await video.getCodecParameterString()) ?? String(video.codec),
        configuration: Buffer.from(bytes).toString('hex'),
        width: video.codedWidth,
        height: video.codedHeight,
        frameRate: Math.round(stats.averagePacketRate * 100) / 100,
        timeResolution: video.timeResolution,
      },
      audio: audio
        ? { codec: (await audio.getCodecParameterString()) ?? String(audio.codec), sampleRate: audio.sampleRate, channels: audio.numberOfChannels }
        : null,
    };
  } catch (error) {
    if (error instanceof ClipReadError) throw error;
    throw new ClipReadError('it could not be read as MP4', { cause: error });
  } finally {
    input.dispose();
  }
}

/** Whether every clip has the same streams with the same codec parameters, so they can be joined by copying. */
export function shareCodecParameters(clips: readonly ClipFacts[]): boolean {
  const signature = ({ video, audio }: ClipFacts) => JSON.stringify({ video, audio });
  const first = clips[0];
  return first !== undefined && clips.every((clip) => signature(clip) === signature(first));
}
