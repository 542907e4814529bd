import type { Generation } from './watch.js';

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

const percent = (g: Generation) => Math.round(Math.min(1, Math.max(0, g.progress)) * 100);
const eta = (g: Generation) => (g.etaSeconds != null && g.status !== 'SUCCEEDED' ? ` ETA ${formatEta(g.etaSeconds)}` : '');

/** A failed or canceled generation has no meaningful progress left to show. */
const stopped = (g: Generation) => g.status === 'FAILED' || g.status === 'CANCELED';

/** One plain line per change, for logs: `PROCESSING 42% ETA 58s`. */
export const statusLine = (g: Generation) => (stopped(g) ? g.status : `${g.status} ${percent(g)}%${eta(g)}`);

/** The redrawn terminal line: `[██████░░░░░░]  42% PROCESSING ETA 58s`. */
export function barLine(g: Generation, width = 24): string {
  if (stopped(g)) return g.status;
  const filled = Math.round((percent(g) / 100) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(percent(g)).padStart(3)}% ${g.status}${eta(g)}`;
}

export interface ProgressView {
  /** Shows a new state: its new timeline events, then the progress. */
  update(generation: Generation): void;
  /** Stops drawing (e.g. while a question is asked); updates wait until resume. */
  pause(): void;
  resume(): void;
  /** Leaves the progress where it is, on its own line. */
  end(): void;
}

/**
 * On a terminal one line is redrawn with `\r`; otherwise (logs, pipes) each change is its own line, so a
 * reader sees every step. Timeline events are printed once each, above the progress.
 */
export function createProgressView(write: (text: string) => void, tty: boolean): ProgressView {
  const seenEvents = new Set<string>();
  let lastLine = '';
  let drawn = false;
  let paused = false;
  let pending: Generation | undefined;

  const clearLine = () => {
    if (drawn) write('\r\x1b[K');
    drawn = false;
  };

  function show(g: Generation): void {
    const fresh = g.events.filter((e) => !seenEvents.has(e.id));
    if (fresh.length > 0) clearLine();
    for (const event of fresh) {
      seenEvents.add(event.id);
      write(`  [${event.type}] ${event.message}\n`);
    }
    const line = tty ? barLine(g) : statusLine(g);
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
