import type { Generation, Story } from './watch.js';

/** What a progress line shows: a generation or a story. */
type Shown = Pick<Generation, 'status' | 'progress' | 'etaSeconds'>;

/** A line printed once above the progress (a timeline event, a shot's new status), known by its key. */
export interface Note {
  key: string;
  text: string;
}

/** Seconds as "58s" or "1m 40s". */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** Bytes as "812 KB" or "3.4 MB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const percent = (g: Shown) => Math.round(Math.min(1, Math.max(0, g.progress)) * 100);
const eta = (g: Shown) => (g.etaSeconds != null && g.status !== 'SUCCEEDED' ? ` ETA ${formatEta(g.etaSeconds)}` : '');

/** A failed or canceled generation has no meaningful progress left to show. */
const stopped = (g: Shown) => g.status === 'FAILED' || g.status === 'CANCELED';

/** One plain line per change, for logs: `PROCESSING 42% ETA 58s`. */
export const statusLine = (g: Shown) => (stopped(g) ? g.status : `${g.status} ${percent(g)}%${eta(g)}`);

/** The redrawn terminal line: `[██████░░░░░░]  42% PROCESSING ETA 58s`. */
export function barLine(g: Shown, width = 24): string {
  if (stopped(g)) return g.status;
  const filled = Math.round((percent(g) / 100) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(percent(g)).padStart(3)}% ${g.status}${eta(g)}`;
}

export interface ProgressView<T = Generation> {
  /** Shows a new state: its new timeline events, then the progress. */
  update(state: T): void;
  /** Stops drawing (e.g. while a question is asked); updates wait until resume. */
  pause(): void;
  resume(): void;
  /** Leaves the progress where it is, on its own line. */
  end(): void;
}

/** A generation's notes: its timeline events. */
export const generationNotes = (g: Generation): Note[] => g.events.map((e) => ({ key: e.id, text: `[${e.type}] ${e.message}` }));

/** The shot a story is at: the first one not finished, or the last. */
export const currentShot = (story: Story): number => {
  const index = story.shots.findIndex((shot) => shot.status !== 'SUCCEEDED');
  return index === -1 ? story.shots.length : index + 1;
};

/** A story's notes: each shot's status, once per change. */
export const storyNotes = (story: Story): Note[] =>
  story.shots.map((shot, i) => ({ key: `${shot.id}:${shot.status}`, text: `[shot ${i + 1}/${story.shots.length}] ${shot.status}` }));

/** After a running story's progress: which shot it is at. */
export const storySuffix = (story: Story): string =>
  ['SUCCEEDED', 'FAILED', 'CANCELED', 'STORING'].includes(story.status) ? '' : ` (shot ${currentShot(story)} of ${story.shots.length})`;

/**
 * On a terminal one line is redrawn with `\r`; otherwise (logs, pipes) each change is its own line, so a
 * reader sees every step. Notes (a generation's timeline events, a story's shot statuses) are printed once
 * each, above the progress.
 */
export function createProgressView<T extends Shown = Generation>(
  write: (text: string) => void,
  tty: boolean,
  notesOf: (state: T) => Note[] = generationNotes as unknown as (state: T) => Note[],
  suffixOf: (state: T) => string = () => '',
): ProgressView<T> {
  const seenEvents = new Set<string>();
  let lastLine = '';
  let drawn = false;
  let paused = false;
  let pending: T | undefined;

  const clearLine = () => {
    if (drawn) write('\r\x1b[K');
    drawn = false;
  };

  function show(g: T): void {
    const fresh = notesOf(g).filter((note) => !seenEvents.has(note.key));
    if (fresh.length > 0) clearLine();
    for (const note of fresh) {
      seenEvents.add(note.key);
      write(`  ${note.text}\n`);
    }
    const line = (tty ? barLine(g) : statusLine(g)) + suffixOf(g);
    if (tty) {
      if (line !== lastLine || !drawn) write(`\r${line}\x1b[K`);
      drawn = true;
    } else if (line !== lastLine) {
      write(`${line}\n`);
    }
    lastLine = line;
  }

  return {
    update(g) {
      if (paused) pending = g;
      else show(g);
    },
    pause() {
      paused = true;
      if (drawn) write('\n');
      drawn = false;
    },
    resume() {
      paused = false;
      const next = pending;
      pending = undefined;
      if (next) show(next);
      else if (tty && lastLine) {
        write(lastLine);
        drawn = true;
      }
    },
    end() {
      if (pending) {
        paused = false;
        show(pending);
        pending = undefined;
      }
      if (drawn) write('\n');
      drawn = false;
    },
  };
}
