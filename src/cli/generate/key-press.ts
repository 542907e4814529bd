/**
 * One Ctrl-C can arrive twice: the terminal sends SIGINT to the whole foreground process group, and `npm run`
 * (in that group) relays its own copy to its child a moment later. SIGINTs this close together are one key press,
 * so the relayed copy cannot count as the "second Ctrl-C" that leaves a generation running. A person who reads
 * the question and presses again is far slower than this.
 */
export const SAME_PRESS_MS = 300;

/** Returns a function that says, for each SIGINT as it arrives, whether it is a new key press. */
export function keyPressFilter(now: () => number = () => performance.now()): () => boolean {
  let last = -Infinity;
  return () => {
    const at = now();
    const isNew = at - last >= SAME_PRESS_MS;
    last = at;
    return isNew;
  };
}
