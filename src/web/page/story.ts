import type { Api, ApiError } from './api.js';
import { byId, element, localVideoUrl, show } from './dom.js';
import { PageCancelDocument, PageStoryDocument, PageWatchStoryDocument, type PageStoryFragment } from '../../contract/generated/page/graphql.js';
import { isFinal } from './store.js';
import { duration, FAILURE_WORDS, fileSize, money, STATUS_WORDS, videoFacts } from './words.js';

export type Story = PageStoryFragment;

/** The words for a story's status: while its shots are done and the film is assembled, it is "stitching". */
const storyStatusWords = (story: Story) => (story.status === 'STORING' ? 'Stitching the shots' : STATUS_WORDS[story.status]);

/**
 * The panel that follows one story: its progress, each shot's status, progress and poster (a link to the shot),
 * then the stitched film. Followed live over storyStatus until it is final.
 */
export function setupStoryPanel(api: Api, onError: (error: ApiError) => void) {
  const panel = byId('story');
  const list = byId('story-shot-list');
  const video = byId<HTMLVideoElement>('story-video');
  const cancel = byId<HTMLButtonElement>('story-cancel');
  const errorBox = byId('story-error');
  let current: Story | undefined;
  let stop: (() => void) | undefined;
  let announced = '';

  function shotItem(shot: Story['shots'][number], index: number, count: number): HTMLLIElement {
    const poster = shot.video?.posterUrl;
    const percent = Math.round((shot.status === 'SUCCEEDED' ? 1 : shot.progress) * 100);
    return element(
      'li',
      { 'data-status': shot.status, 'data-id': shot.id },
      poster
        ? element('img', { class: 'poster', src: localVideoUrl(poster), alt: `First frame of shot ${index + 1}`, width: '96', height: '54' })
        : element('span', { class: 'poster poster-empty', 'aria-hidden': 'true' }),
      element(
        'a',
        { href: `#${shot.id}` },
        element('strong', {}, `Shot ${index + 1} of ${count}`),
        ` ${shot.prompt}`,
      ),
      element('span', { class: `badge status-${shot.status.toLowerCase()}` }, STATUS_WORDS[shot.status]),
      element(
        'span',
        { class: 'muted small' },
        shot.video ? videoFacts(shot.video) : `${shot.durationSeconds} s${isFinal(shot.status) ? '' : ` · ${percent}%`}`,
      ),
    );
  }

  function render(story: Story) {
    if (current && current.id === story.id && current.version > story.version) return;
    current = story;
    show(panel, true);
    show(byId('current'), false);
    panel.dataset.status = story.status;
    const status = byId('story-status');
    status.textContent = storyStatusWords(story);
    status.className = `badge status-${story.status.toLowerCase()}`;
    const percent = Math.round((story.status === 'SUCCEEDED' ? 1 : story.progress) * 100);
    const progress = byId<HTMLProgressElement>('story-progress');
    progress.value = percent / 100;
    progress.setAttribute('aria-valuetext', `${percent}%`);
    show(progress, !['FAILED', 'CANCELED'].includes(story.status));
    byId('story-eta').textContent = isFinal(story.status)
      ? ''
      : `${percent}%${story.etaSeconds != null ? ` · about ${duration(story.etaSeconds)} left` : ''}`;
    if (announced !== `${story.id}:${story.status}`) {
      announced = `${story.id}:${story.status}`;
      byId('story-announce').textContent = `Story ${storyStatusWords(story).toLowerCase()}.`;
    }
    list.replaceChildren(...story.shots.map((shot, i) => shotItem(shot, i, story.shots.length)));

    show(errorBox, story.status === 'FAILED' || story.status === 'CANCELED');
    if (story.status === 'FAILED' && story.error) {
      errorBox.replaceChildren(
        element('strong', {}, FAILURE_WORDS[story.error.code] ?? 'The story failed.'),
        element('span', { class: 'error-detail' }, ` ${story.error.message} Error code: ${story.error.code}. The shots after it were not made.`),
      );
    } else if (story.status === 'CANCELED') {
      errorBox.replaceChildren(element('strong', {}, 'This story was canceled; the shots after the canceled one were not made.'));
    }

    show(byId('story-video-box'), Boolean(story.video));
    if (story.video) {
      const source = localVideoUrl(story.video.url);
      if (video.dataset.path !== source.split('?')[0]) {
        video.dataset.path = source.split('?')[0];
        video.src = source;
        if (story.video.posterUrl) video.poster = localVideoUrl(story.video.posterUrl);
      }
      const download = byId<HTMLAnchorElement>('story-download');
      download.href = source;
      download.setAttribute('download', `story-${story.id}.mp4`);
      byId('story-video-facts').textContent = `${videoFacts(story.video)} · ${fileSize(story.video.sizeBytes)}`;
    }
    byId('story-cost').textContent = `${isFinal(story.status) ? 'Cost' : 'Estimated cost'} ${money(story.cost)}`;
    byId('story-id').textContent = `id ${story.id}`;
    show(cancel, !isFinal(story.status));
  }

  function follow(id: string) {
    stop?.();
    stop = api.subscribe(PageWatchStoryDocument, { id }, {
      next: ({ storyStatus }) => render(storyStatus),
      error: (error) => {
        stop = undefined;
        onError(error);
      },
      complete: () => (stop = undefined),
    });
  }

  cancel.addEventListener('click', () => {
    const shot = current?.shots.find((s) => !isFinal(s.status));
    if (!current || !shot) return;
    const started = shot.status !== 'QUEUED';
    if (!window.confirm(`Cancel this story? The shots not made yet are not sent.${started ? ' The shot being made now may still be charged.' : ''}`)) return;
    cancel.disabled = true;
    void api
      .request(PageCancelDocument, { id: shot.id })
      .then(({ cancelGeneration: result }) => {
        if (result.__typename !== 'CancelGenerationSuccess') {
          errorBox.replaceChildren(element('strong', {}, result.message));
          show(errorBox, true);
        }
      })
      .catch(onError)
      .finally(() => (cancel.disabled = false));
  });

  return {
    get currentId() {
      return current?.id;
    },
    /** Shows a story (just made, or named in the address) and follows it live. */
    show(story: Story, focus = false) {
      if (current?.id !== story.id) {
        video.removeAttribute('src');
        delete video.dataset.path;
        current = undefined;
      }
      render(story);
      if (!isFinal(story.status)) follow(story.id);
      if (focus) panel.focus();
    },
    async load(id: string) {
      const { story } = await api.request(PageStoryDocument, { id });
      if (!story) {
        show(panel, true);
        show(byId('current'), false);
        list.replaceChildren();
        errorBox.replaceChildren(element('strong', {}, `No story ${id} is visible to this API key.`));
        show(errorBox, true);
        return;
      }
      this.show(story);
    },
    hide() {
      stop?.();
      stop = undefined;
      current = undefined;
      show(panel, false);
      show(byId('current'), true);
    },
  };
}
