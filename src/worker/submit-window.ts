/**
 * From the moment a worker marks a submit (`submit_started_at`) until Segmind's answer is recorded, only that
 * worker can know whether Segmind accepted — and billed — the job. It waits at most the request timeout for the
 * answer, then at most the commit patience to record it. Every worker derives the same window from the same two
 * settings, so nobody sends the job again before the first worker has certainly stopped trying to record it.
 */
export interface SubmitPatience {
  /** Longest a submit request may take (SEGMIND_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Longest the worker retries recording the answer through a database outage (COMMIT_PATIENCE_MS). */
  commitPatienceMs: number;
}

/** Room for the one write that may still be under way when the sender's patience runs out. */
const LAST_WRITE_SLACK_MS = 2000;

/** How long after marking a submit its worker starts its last attempt to record Segmind's answer, at the latest. */
export const recordingGivesUpAfterMs = (patience: SubmitPatience): number =>
  patience.requestTimeoutMs + patience.commitPatienceMs;

/** How long after a submit was marked no worker may claim it for a new submit: its sender may still record it. */
export const submitWindowMs = (patience: SubmitPatience): number => recordingGivesUpAfterMs(patience) + LAST_WRITE_SLACK_MS;
