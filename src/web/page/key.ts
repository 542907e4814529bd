import { byId } from './dom.js';

const STORAGE_KEY = 'reelql.apiKey';

/** The key to use: the one saved in this browser, else a loopback development server's own key. */
export function initialKey(): { key: string; source: 'saved' | 'development' } | null {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved) return { key: saved, source: 'saved' };
  const development = document.querySelector<HTMLMetaElement>('meta[name="reelql-development-key"]')?.content;
  return development ? { key: development, source: 'development' } : null;
}

export function saveKey(key: string): void {
  localStorage.setItem(STORAGE_KEY, key);
}

const masked = (key: string) => `${key.slice(0, 12)}…`;

/** The API key section: says which key is in use and lets the person enter another. */
export function setupKeySection(onKey: (key: string) => void): { describe(key: string | null, source?: string): void; reject(message: string): void } {
  const status = byId('key-status');
  const input = byId<HTMLInputElement>('api-key');
  const section = byId<HTMLDetailsElement>('key-section');
  byId<HTMLFormElement>('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      status.textContent = 'Paste an API key first (it starts with rql_).';
      input.focus();
      return;
    }
    saveKey(key);
    input.value = '';
    onKey(key);
  });
  return {
    describe(key, source) {
      status.classList.remove('error-text');
      section.open = !key;
      status.textContent = !key
        ? 'Enter your API key to start.'
        : source === 'development'
          ? `Using this development server's own key (${masked(key)}). Nothing else to set up.`
          : `Using key ${masked(key)}, saved in this browser.`;
    },
    reject(message) {
      status.textContent = message;
      status.classList.add('error-text');
      section.open = true;
      input.focus();
    },
  };
}
