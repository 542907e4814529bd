import type { Api } from './api.js';
import { byId, element, localVideoUrl, show } from './dom.js';
import { PageRecentDocument } from '../../contract/generated/page/graphql.js';
import type { Generation, GenerationStore } from './store.js';
import { dateTime, money, STATUS_WORDS, videoFacts } from './words.js';

const PAGE_SIZE = 20;

/** The key's recent generations, newest first, each row live while its generation runs. */
export function setupRecentList(api: Api, store: GenerationStore) {
  const list = byId('recent');
  const rows = new Map<string, HTMLLIElement>();

  function row(generation: Generation): HTMLLIElement {
    const poster = generation.video?.posterUrl;
    const item = element(
      'li',
      { 'data-id': generation.id, 'data-status': generation.status },
      element(
        'a',
        { href: `#${generation.id}` },
        // The first frame, so a list of videos reads at a glance; an empty frame for one not (yet) made.
        poster
          ? element('img', { class: 'poster', src: localVideoUrl(poster), alt: '', width: '96', height: '54', loading: 'lazy' })
          : element('span', { class: 'poster poster-empty', 'aria-hidden': 'true' }),
        element('span', { class: `badge status-${generation.status.toLowerCase()}` }, STATUS_WORDS[generation.status]),
        element('span', { class: 'recent-prompt' }, generation.prompt),
      ),
      element(
        'span',
        { class: 'muted small' },
        // The real duration and size once the file is stored; the asked duration before.
        `${dateTime(generation.createdAt)} · ${generation.video ? videoFacts(generation.video) : `${generation.durationSeconds} s`} · ${money(generation.cost)}`,
        ...(['PROCESSING', 'SUBMITTED', 'STORING'].includes(generation.status)
          ? [` · ${Math.round(generation.progress * 100)}%`]
          : []),
      ),
    );
    return item;
  }

  /** Updates a row in place, or adds it at the top (new generations are the newest). */
  function upsert(generation: Generation) {
    const next = row(generation);
    const existing = rows.get(generation.id);
    if (existing) existing.replaceWith(next);
    else list.prepend(next);
    rows.set(generation.id, next);
    show(byId('recent-empty'), rows.size === 0);
  }

  store.onChange((generation) => upsert(generation));

  async function load() {
    const { generations } = await api.request(PageRecentDocument, { first: PAGE_SIZE });
    list.replaceChildren();
    rows.clear();
    // Oldest first, each to the top, so the newest ends up first.
    for (const generation of [...generations.nodes].reverse()) {
      store.put(generation);
      upsert(store.get(generation.id) ?? generation);
      store.watch(generation.id);
    }
    show(byId('recent-empty'), rows.size === 0);
  }

  byId('refresh').addEventListener('click', () => void load().catch(() => undefined));
  return { load, clear: () => (list.replaceChildren(), rows.clear()) };
}
