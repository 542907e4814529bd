import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';

/** True when tmux can be run here, and always in CI: the terminal tests need a real pseudo-terminal with job control. */
export const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0 || Boolean(process.env.CI);

export interface Terminal {
  /** Types `text` literally, as a person would; no Enter. */
  type(text: string): void;
  /** Presses keys by tmux name: 'Enter', 'C-c'. Ctrl-C goes through the terminal, so the line discipline sends
   * SIGINT to the whole foreground process group, exactly as at a real terminal. */
  press(...keys: string[]): void;
  /** What the terminal shows and has scrolled past, wrapped lines joined. */
  screen(): string;
  close(): void;
}

/**
 * An interactive bash in a fresh tmux server (its own socket, so nothing else is touched), in `cwd`, 200 columns
 * wide so lines rarely wrap.
 */
export function openTerminal(cwd: string, env: Record<string, string> = {}): Terminal {
  const socket = `reelql-test-${randomUUID().slice(0, 8)}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const variables = Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
  tmux('new-session', '-d', '-s', 'main', '-x', '200', '-y', '50', '-c', cwd, ...variables, 'bash --norc --noprofile');
  return {
    type: (text) => void tmux('send-keys', '-t', 'main', '-l', text),
    press: (...keys) => void tmux('send-keys', '-t', 'main', ...keys),
    screen: () => tmux('capture-pane', '-p', '-J', '-S', '-1000', '-t', 'main'),
    close: () => {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
    },
  };
}
