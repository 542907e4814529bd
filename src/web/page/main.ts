/**
 * The web page at `/`: make a video and watch it being made. Queries and mutations go over HTTP, live updates
 * over graphql-ws (generationStatus). The address ends in #<generation id>, so a reload resumes where it was.
 */
import './styles.css';
import { API_ERROR_CODES } from '../../contract/tables.js';
import { Api, ApiError } from './api.js';
import { setupCurrentPanel } from './current.js';
import { setupForm } from './form.js';
import { initialKey, setupKeySection } from './key.js';
import { PageGenerationDocument } from '../../contract/generated/page/graphql.js';
import { setupRecentList } from './recent.js';
import { setupSpendLine } from './spend.js';
import { setupStoryPanel } from './story.js';
import { GenerationStore, isFinal, type Generation } from './store.js';
import { API_ERROR_WORDS, duration } from './words.js';
import { byId, show } from './dom.js';

const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;

/**
 * Says what this server really does: with the simulator, every video is a numbered test clip, made in seconds,
 * and the banner tells how to try a failure; with Segmind, a 1080p video with sound in about a minute and a half.
 */
function describeProvider(): void {
  const simulator = meta('reelql-provider') === 'SIMULATOR';
  const seconds = Number(meta('reelql-expected-job-seconds'));
  const takes = Number.isFinite(seconds) && seconds > 0 ? `about ${duration(seconds)}` : undefined;
  show(byId('simulator-banner'), simulator);
  if (simulator) {
    byId('tagline').textContent = 'Describe a shot, get a video. Here the simulator answers with a test clip.';
    for (const node of document.querySelectorAll('.simulator-seconds')) node.textContent = takes ? duration(seconds) : '15 s';
    byId('current-takes').textContent = takes ? `Here the simulator takes ${takes}.` : '';
  } else if (takes) {
    byId('current-takes').textContent = `It takes ${takes}.`;
  }
}

const start = initialKey();
const api = new Api(start?.key ?? '');

const keySection = setupKeySection((key) => {
  api.setKey(key);
  store.clear();
  recent.clear();
  spend.clear();
  keySection.describe(key, 'saved');
  void refresh();
});

function reportError(error: unknown) {
  const apiError = error instanceof ApiError ? error : new ApiError(String(error), 'UNKNOWN');
  if (apiError.code === API_ERROR_CODES.UNAUTHENTICATED) keySection.reject(API_ERROR_WORDS.UNAUTHENTICATED!);
  else console.error(apiError);
}

const store = new GenerationStore(api, (_id, error) => reportError(error));
const spend = setupSpendLine(api);
// Spend changes when a generation is admitted and when one ends (a cancel or a failure may free its estimate): the
// line is asked for again when a generation the page has seen running becomes final, not for every list entry.
const running = new Set<string>();
store.onChange((generation) => {
  if (!isFinal(generation.status)) running.add(generation.id);
  else if (running.delete(generation.id)) void spend.load().catch(reportError);
});
const recent = setupRecentList(api, store);
const current = setupCurrentPanel(api, store, {
  reuse: (generation) => form.fill(generation),
  continueScene: (generation) => form.continueScene(generation),
});
const storyPanel = setupStoryPanel(api, reportError);
/** The address of a story: `#story=<id>`; a generation's is `#<id>`. */
const STORY_HASH = 'story=';
const form = setupForm(api, {
  onGeneration(generation: Generation) {
    store.put(generation);
    void spend.load().catch(reportError);
    location.hash = generation.id;
    current.show(generation, true);
  },
  onStory(story) {
    // Its shots are generations: the recent list shows them, live.
    for (const shot of story.shots) store.put(shot);
    void recent.load().catch(reportError);
    void spend.load().catch(reportError);
    location.hash = `${STORY_HASH}${story.id}`;
    storyPanel.show(story, true);
  },
});

/** Shows the generation or story named in the address, fetching it when the page does not know it yet. */
async function showFromAddress() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (id.startsWith(STORY_HASH)) {
    const storyId = id.slice(STORY_HASH.length);
    if (storyId !== storyPanel.currentId) await storyPanel.load(storyId);
    return;
  }
  if (storyPanel.currentId) storyPanel.hide();
  if (!id || id === current.currentId) return;
  const known = store.get(id);
  if (known?.events) return current.show(known);
  const { generation } = await api.request(PageGenerationDocument, { id });
  if (!generation) return current.missing(id);
  store.put(generation);
  current.show(generation);
}

async function refresh() {
  await Promise.all([form.estimate(), recent.load(), showFromAddress(), spend.load()]).catch(reportError);
}

window.addEventListener('hashchange', () => void showFromAddress().catch(reportError));
// Generations made elsewhere (another tab, the CLI, GraphiQL) appear when the person comes back to the page.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && start) void recent.load().catch(reportError);
});
describeProvider();
keySection.describe(start?.key ?? null, start?.source);
if (start) void refresh();
