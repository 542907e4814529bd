import { byId, show } from './dom.js';
import { duration } from './words.js';

const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;

/**
 * Says what this server really does: with the simulator, every video is the same small sample, made in seconds,
 * and the banner tells how to try a failure; with Segmind, a 1080p video with sound in about a minute and a half.
 */
export function describeProvider(): void {
  const simulator = meta('reelql-provider') === 'SIMULATOR';
  const seconds = Number(meta('reelql-expected-job-seconds'));
  const takes = Number.isFinite(seconds) && seconds > 0 ? `about ${duration(seconds)}` : undefined;
  show(byId('simulator-banner'), simulator);
  if (simulator) {
    byId('tagline').textContent = 'Describe a shot, get a video. Here the simulator answers with a sample clip.';
    for (const node of document.querySelectorAll('.simulator-seconds')) node.textContent = takes ? duration(seconds) : '15 s';
    byId('current-takes').textContent = takes ? `Here the simulator takes ${takes}.` : '';
  } else if (takes) {
    byId('current-takes').textContent = `It takes ${takes}.`;
  }
}
