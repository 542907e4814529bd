import type { Api } from './api.js';
import { byId, element, localVideoUrl, show } from './dom.js';
import { PageCancelDocument } from '../../contract/generated/page/graphql.js';
import { isFinal, type Generation, type GenerationStore } from './store.js';
import { duration, FAILURE_WORDS, fileSize, money, STATUS_WORDS, time, videoFacts } from './words.js';

/** The panel that follows one generation: status, progress, ETA, timeline, then the video or the error. */
export function setupCurrentPanel(
  api: Api,
  store: GenerationStore,
  actions: { reuse: (generation: Generation) => void; continueScene: (generation: Generation) => void },
) {
  const panel = byId('current');
  const body = byId('current-body');
  const status = byId('current-status');
  const eta = byId('current-eta');
  const progress = byId<HTMLProgressElement>('current-progress');
  const announce = byId('current-announce');
  const errorBox = byId('current-error');
  const videoBox = byId('current-video');
  const video = byId<HTMLVideoElement>('video');
  const download = byId<HTMLAnchorElement>('download');
  const cancel = byId<HTMLButtonElement>('cancel');
  const timeline = byId('timeline');
  let currentId: string | undefined;
  let announced = '';

  function render(generation: Generation) {
    show(byId('current-empty'), false);
    show(body, true);
    panel.dataset.status = generation.status;
    byId('current-prompt').textContent = generation.prompt;
    status.textContent = STATUS_WORDS[generation.status];
    status.className = `badge status-${generation.status.toLowerCase()}`;
    const final = isFinal(generation.status);
    const percent = Math.round((generation.status === 'SUCCEEDED' ? 1 : generation.progress) * 100);
    progress.value = percent / 100;
    // A bar stopped part-way would read as "still going".
    show(progress, !['FAILED', 'CANCELED'].includes(generation.status));
    progress.setAttribute('aria-valuetext', `${percent}%`);
    eta.textContent = final
      ? ''
      : `${percent}%${generation.etaSeconds !== null ? ` · about ${duration(generation.etaSeconds)} left` : ''}`;
    // Screen readers hear each change of status once, not every progress tick.
    if (announced !== `${generation.id}:${generation.status}`) {
      announced = `${generation.id}:${generation.status}`;
      announce.textContent = `Generation ${STATUS_WORDS[generation.status].toLowerCase()}.`;
    }

    const failed = generation.status === 'FAILED' && generation.error;
    show(errorBox, Boolean(failed) || generation.status === 'CANCELED' || Boolean(generation.videoExpiredAt));
    if (generation.error && failed) {
      // The server's own message is the timeline's last entry; here it is explained, not repeated (unless the
      // page has no words for this code).
      const words = FAILURE_WORDS[generation.error.code];
      errorBox.replaceChildren(
        element('strong', {}, words ?? 'The generation failed.'),
        element('span', { class: 'error-detail' }, ` ${words ? '' : `${generation.error.message} `}Error code: ${generation.error.code}.`),
        ...(generation.error.retryable ? [element('span', {}, ' You can try again: “Use these settings again”.')] : []),
      );
    } else if (generation.status === 'CANCELED') {
      errorBox.replaceChildren(element('strong', {}, 'This generation was canceled.'));
    } else if (generation.videoExpiredAt) {
      errorBox.replaceChildren(element('strong', {}, 'This video was deleted after its retention period. Generate it again to get a new one.'));
    }

    show(videoBox, Boolean(generation.video));
    if (generation.video) {
      const source = localVideoUrl(generation.video.url);
      // A fresh signature on every update must not restart a playing video.
      if (video.dataset.path !== source.split('?')[0]) {
        video.dataset.path = source.split('?')[0];
        video.src = source;
        if (generation.video.posterUrl) video.poster = localVideoUrl(generation.video.posterUrl);
        else video.removeAttribute('poster');
      }
      download.href = source;
      download.setAttribute('download', `${generation.id}.mp4`);
      byId('video-size').textContent = fileSize(generation.video.sizeBytes);
      // The facts come from the stored file, not from what was asked.
      byId('video-facts').textContent =
        videoFacts(generation.video) + (generation.video.stillsError ? ` · no poster: ${generation.video.stillsError}` : '');
    } else if (video.dataset.path) {
      video.removeAttribute('src');
      delete video.dataset.path;
      video.load();
    }

    byId('current-cost').textContent = `${generation.costIsFinal ? 'Cost' : 'Estimated cost'} ${money(generation.cost)}`;
    byId('current-id').textContent = `id ${generation.id}`;
    show(cancel, !final);
    show(byId('continue'), Boolean(generation.video?.lastFrameUrl));
    if (generation.events) {
      timeline.replaceChildren(
        ...generation.events.map((event) =>
          element('li', {}, element('time', { datetime: event.createdAt }, time(event.createdAt)), ` ${event.message}`),
        ),
      );
    }
  }

  store.onChange((generation) => {
    if (generation.id === currentId) render(generation);
  });

  cancel.addEventListener('click', () => {
    const generation = currentId ? store.get(currentId) : undefined;
    if (!generation) return;
    const started = generation.status !== 'QUEUED';
    const question = started
      ? 'Cancel this generation? Segmind already started it, so it may still be charged.'
      : 'Cancel this generation? Nothing has been spent yet.';
    if (!window.confirm(question)) return;
    cancel.disabled = true;
    void api
      .request(PageCancelDocument, { id: generation.id })
      .then(({ cancelGeneration: result }) => {
        if (result.__typename === 'CancelGenerationSuccess') store.put(result.generation);
        else errorBox.replaceChildren(element('strong', {}, result.message));
        show(errorBox, true);
      })
      .catch((error: Error) => {
        errorBox.replaceChildren(element('strong', {}, error.message));
        show(errorBox, true);
      })
      .finally(() => (cancel.disabled = false));
  });
  byId('reuse').addEventListener('click', () => {
    const generation = currentId ? store.get(currentId) : undefined;
    if (generation) actions.reuse(generation);
  });
  byId('continue').addEventListener('click', () => {
    const generation = currentId ? store.get(currentId) : undefined;
    if (generation) actions.continueScene(generation);
  });

  return {
    get currentId() {
      return currentId;
    },
    /** Shows a generation (already in the store) and follows it live. */
    show(generation: Generation, focus = false) {
      if (currentId !== generation.id) {
        video.removeAttribute('src');
        delete video.dataset.path;
        timeline.replaceChildren();
      }
      currentId = generation.id;
      render(store.get(generation.id) ?? generation);
      store.watch(generation.id);
      if (focus) panel.focus();
    },
    /** Shows that the id in the address is not one of this key's generations. */
    missing(id: string) {
      currentId = undefined;
      show(body, false);
      const empty = byId('current-empty');
      empty.textContent = `No generation ${id} is visible to this API key.`;
      show(empty, true);
    },
  };
}
