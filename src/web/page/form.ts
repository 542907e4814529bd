import { ApiError, type Api, type Document } from './api.js';
import { VEO } from '../../contract/tables.js';
import { byId, element, localVideoUrl, show } from './dom.js';
import {
  PageEstimateCostDocument,
  PageEstimateStoryCostDocument,
  PageGenerateStoryDocument,
  PageGenerateVideoDocument,
  type PageStoryFragment,
} from '../../contract/generated/page/graphql.js';
import type { Generation } from './store.js';
import { API_ERROR_WORDS, budgetWords, inPageWords, money } from './words.js';

type Input = Record<string, unknown>;

interface Problem {
  field: string;
  message: string;
}

const FIELDS_WITH_ERRORS = ['prompt', 'negativePrompt', 'image', 'imageFile', 'lastFrame', 'lastFrameFile', 'seed', 'shots'];
/** GenerateStoryInput.shots: 1 to 8. */
const MAX_SHOTS = 8;
/** A problem of one shot, e.g. "shots[1].prompt" or "shots.1.durationSeconds". */
const SHOT_FIELD = /^shots(?:\[(\d+)\]|\.(\d+))?/;
const MAX_SEED = VEO.maxSeed;
const FRAMES = [
  { url: 'image', upload: 'imageFile', name: 'first frame' },
  { url: 'lastFrame', upload: 'lastFrameFile', name: 'last frame' },
] as const;

function isWebAddress(text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** What the form made: a generation, or a story of several. */
export interface Created {
  onGeneration(generation: Generation): void;
  onStory(story: PageStoryFragment): void;
}

/**
 * The new-video form: live price, validation, submission, and errors shown next to their field. In story mode it
 * holds a list of shots (prompt and duration each) and makes a story; "Continue this scene" sets a generation whose
 * last frame is the first frame (continueFrom).
 */
export function setupForm(api: Api, created: Created) {
  const form = byId<HTMLFormElement>('generate-form');
  const submit = byId<HTMLButtonElement>('submit');
  const formError = byId('form-error');
  const value = (id: string) => byId<HTMLInputElement>(id).value.trim();
  const file = (id: string) => byId<HTMLInputElement>(id).files?.[0];
  // Kept until the server answers, so resubmitting after a lost answer cannot queue (and charge) twice.
  let idempotencyKey: string | undefined;
  // What the button says when idle; an estimate that lands while a request is sent must not be lost.
  let idleLabel = 'Generate video';
  /** The generation this one continues from, set by "Continue this scene". */
  let continueFrom: Generation | undefined;
  const storyMode = () => byId<HTMLInputElement>('mode-story').checked;
  const shotList = byId<HTMLOListElement>('shots');
  const shotRows = () => [...shotList.querySelectorAll<HTMLLIElement>('li')];
  const buttonWord = () => (storyMode() ? 'Generate story' : 'Generate video');

  /** Adds a shot editor: its prompt and its duration. */
  function addShot(prompt = '', seconds = 8) {
    const number = shotRows().length + 1;
    const promptId = `shot-${number}-prompt`;
    const durationId = `shot-${number}-duration`;
    const duration = element(
      'select',
      { id: durationId, class: 'shot-duration' },
      ...VEO.durationsSeconds.map((value) => element('option', { value: String(value) }, `${value} seconds`)),
    );
    duration.value = String(seconds);
    const text = element('textarea', { id: promptId, class: 'shot-prompt', rows: '2', maxlength: '2000', placeholder: `What shot ${number} shows` });
    text.value = prompt;
    const remove = element('button', { type: 'button', class: 'shot-remove', 'aria-label': `Remove shot ${number}` }, 'Remove');
    const item = element(
      'li',
      { class: 'shot' },
      element('label', { for: promptId }, `Shot ${number}`),
      text,
      element('label', { for: durationId, class: 'visually-hidden' }, `Duration of shot ${number}`),
      duration,
      remove,
      element('p', { class: 'field-error shot-error', hidden: '' }),
    );
    remove.addEventListener('click', () => {
      item.remove();
      renumberShots();
      scheduleEstimate();
    });
    shotList.append(item);
    renumberShots();
  }

  function renumberShots() {
    const rows = shotRows();
    rows.forEach((row, i) => {
      row.querySelector('label')!.textContent = `Shot ${i + 1}`;
      row.querySelector<HTMLButtonElement>('.shot-remove')!.hidden = rows.length === 1;
    });
    byId<HTMLButtonElement>('add-shot').disabled = rows.length >= MAX_SHOTS;
  }

  function applyMode() {
    const story = storyMode();
    for (const node of form.querySelectorAll<HTMLElement>('.video-only')) show(node, !story);
    for (const node of form.querySelectorAll<HTMLElement>('.story-only')) show(node, story);
    byId('form-heading').textContent = story ? 'New story' : 'New video';
    if (story && shotRows().length === 0) {
      addShot(value('prompt'));
      addShot();
    }
    if (story) setContinueFrom(undefined);
    label(buttonWord());
    scheduleEstimate();
  }

  function setContinueFrom(generation: Generation | undefined) {
    continueFrom = generation;
    show(byId('continue-from'), Boolean(generation));
    show(byId('first-frame'), !generation);
    if (!generation) return;
    byId('continue-from-prompt').textContent = `“${generation.prompt}”`;
    const poster = byId<HTMLImageElement>('continue-from-poster');
    const still = generation.video?.lastFrameUrl;
    if (still) poster.src = localVideoUrl(still);
    show(poster, Boolean(still));
  }
  byId('continue-from-clear').addEventListener('click', () => {
    setContinueFrom(undefined);
    idempotencyKey = undefined;
    byId('prompt').focus();
  });
  byId('add-shot').addEventListener('click', () => {
    addShot();
    shotRows().at(-1)?.querySelector('textarea')?.focus();
    scheduleEstimate();
  });
  for (const id of ['mode-video', 'mode-story']) byId(id).addEventListener('change', applyMode);
  let sending = false;
  const label = (text: string) => {
    idleLabel = text;
    if (!sending) submit.textContent = text;
  };

  function clearErrors() {
    show(formError, false);
    for (const field of FIELDS_WITH_ERRORS) {
      show(byId(`${field}-error`), false);
      byId(field).removeAttribute('aria-invalid');
    }
    for (const row of shotRows()) {
      show(row.querySelector<HTMLElement>('.shot-error')!, false);
      row.querySelector('textarea')!.removeAttribute('aria-invalid');
    }
  }

  /** Shows a problem of one shot next to it; false when `field` names no shot the form has. */
  function shotError(field: string, message: string): HTMLElement | undefined {
    const match = SHOT_FIELD.exec(field);
    if (!match) return undefined;
    const index = match[1] ?? match[2];
    const row = index === undefined ? undefined : shotRows()[Number(index)];
    if (!row) {
      const note = byId('shots-error');
      note.textContent = inPageWords(message);
      show(note, true);
      return shotList;
    }
    const note = row.querySelector<HTMLElement>('.shot-error')!;
    note.textContent = inPageWords(message);
    show(note, true);
    const text = row.querySelector('textarea')!;
    text.setAttribute('aria-invalid', 'true');
    return text;
  }

  /** Shows each problem next to its field (all at once) and moves the focus to the first. */
  function fieldErrors(problems: Problem[]) {
    let first: HTMLElement | undefined;
    const elsewhere: string[] = [];
    for (const { field, message } of problems) {
      if (storyMode() && SHOT_FIELD.test(field)) {
        first ??= shotError(field, message);
        continue;
      }
      const target = FIELDS_WITH_ERRORS.includes(field) && field !== 'shots' ? field : null;
      if (!target) {
        elsewhere.push(inPageWords(message));
        continue;
      }
      const note = byId(`${target}-error`);
      note.textContent = inPageWords(message);
      show(note, true);
      byId(target).setAttribute('aria-invalid', 'true');
      first ??= byId(target);
    }
    // Problems of fields without a note of their own (e.g. the duration) go above the button, together.
    if (elsewhere.length) generalError(elsewhere.join(' '));
    first?.focus();
  }

  function generalError(message: string) {
    formError.textContent = message;
    show(formError, true);
  }

  /** The input as the API takes it, plus the files to upload; or every problem to show next to its field. */
  function read(): { input: Input; files: Record<string, File> } | { problems: Problem[] } {
    const problems: Problem[] = [];
    const input: Input = {
      prompt: value('prompt'),
      aspectRatio: value('aspectRatio'),
      durationSeconds: Number(value('durationSeconds')),
      resolution: value('resolution'),
      generateAudio: byId<HTMLInputElement>('generateAudio').checked,
    };
    const files: Record<string, File> = {};
    if (value('negativePrompt')) input.negativePrompt = value('negativePrompt');
    for (const frame of FRAMES) {
      const chosen = file(frame.upload);
      const url = value(frame.url);
      if (chosen && url) problems.push({ field: frame.upload, message: `Give ${frame.name} as a URL or as a file, not both.` });
      else if (chosen) {
        input[frame.upload] = null;
        files[`input.${frame.upload}`] = chosen;
      } else if (url) {
        if (!isWebAddress(url)) {
          problems.push({ field: frame.url, message: `The ${frame.name} URL must be a full http(s) address, e.g. https://example.com/${frame.name.split(' ')[0]}.jpg.` });
        }
        input[frame.url] = url;
      }
    }
    if (continueFrom && !storyMode()) input.continueFrom = continueFrom.id;
    if (storyMode()) {
      delete input.prompt;
      delete input.durationSeconds;
      delete input.lastFrame;
      delete files['input.lastFrameFile'];
      input.shots = shotRows().map((row, i) => {
        const prompt = row.querySelector('textarea')!.value.trim();
        if (!prompt) problems.push({ field: `shots[${i}].prompt`, message: `Write what shot ${i + 1} shows, or remove it.` });
        return {
          prompt,
          durationSeconds: Number(row.querySelector('select')!.value),
          ...(input.negativePrompt !== undefined && { negativePrompt: input.negativePrompt }),
        };
      });
      delete input.negativePrompt;
    } else if ((input.lastFrame !== undefined || files['input.lastFrameFile']) && input.image === undefined && !files['input.imageFile']) {
      problems.push({ field: 'lastFrame', message: 'A last frame needs a first frame: give one above, or clear the last frame.' });
    }
    const seed = value('seed');
    if (seed) {
      const number = Number(seed);
      if (!Number.isInteger(number) || number < 0 || number > MAX_SEED) {
        problems.push({ field: 'seed', message: `The seed is a whole number from 0 to ${MAX_SEED}; leave it empty for a random one.` });
      }
      input.seed = number;
    }
    return problems.length ? { problems } : { input, files };
  }

  let estimateTimer: number | undefined;
  let estimateRun = 0;
  async function estimate() {
    const run = ++estimateRun;
    const parsed = read();
    if (!('input' in parsed)) return;
    // The price depends on durations, resolution and sound only; prompts may still be empty, and the first frame
    // (an upload, or the scene continued) does not change it.
    const { shots, continueFrom: _continues, ...common } = parsed.input as Input & { shots?: { prompt: string }[] };
    const unpriced = { imageFile: undefined, lastFrameFile: undefined };
    try {
      const price = shots
        ? (
            await api.request(PageEstimateStoryCostDocument, {
              input: { ...common, ...unpriced, shots: shots.map((shot) => ({ ...shot, prompt: shot.prompt || 'price estimate' })) },
            })
          ).estimateStoryCost
        : (await api.request(PageEstimateCostDocument, { input: { ...common, ...unpriced, prompt: (common.prompt as string) || 'price estimate' } }))
            .estimateCost;
      if (run !== estimateRun) return;
      label(`${buttonWord()} for ${money(price)}${shots ? ` (${shots.length} shot${shots.length === 1 ? '' : 's'})` : ''}`);
    } catch {
      if (run !== estimateRun) return;
      label(buttonWord());
    }
  }
  const scheduleEstimate = () => {
    window.clearTimeout(estimateTimer);
    estimateTimer = window.setTimeout(() => void estimate(), 150);
  };
  form.addEventListener('input', () => {
    idempotencyKey = undefined;
    scheduleEstimate();
  });
  form.addEventListener('change', scheduleEstimate);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });

  async function send() {
    clearErrors();
    const parsed = read();
    const problems = [
      ...(value('prompt') || storyMode() ? [] : [{ field: 'prompt', message: 'Write a prompt: what the video should show.' }]),
      ...('problems' in parsed ? parsed.problems : []),
    ];
    if (problems.length || !('input' in parsed)) return fieldErrors(problems);
    const { input, files } = parsed;
    idempotencyKey ??= crypto.randomUUID();
    input.idempotencyKey = idempotencyKey;
    submit.disabled = true;
    sending = true;
    submit.textContent = 'Sending…';
    try {
      const variables = { input };
      const call = <T>(document: Document<T>) =>
        Object.keys(files).length ? api.upload(document, variables, files) : api.request(document, variables);
      const result = storyMode()
        ? (await call(PageGenerateStoryDocument)).generateStory
        : (await call(PageGenerateVideoDocument)).generateVideo;
      idempotencyKey = undefined;
      switch (result.__typename) {
        case 'GenerateVideoSuccess':
          setContinueFrom(undefined);
          created.onGeneration(result.generation);
          return;
        case 'GenerateStorySuccess':
          created.onStory(result.story);
          return;
        case 'InputError':
          return fieldErrors(result.problems?.length ? result.problems : [result]);
        case 'BudgetExceededError':
          return generalError(budgetWords(result));
        default:
          return generalError(result.message);
      }
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(String(error), 'UNKNOWN');
      // A network failure may hide a success: keep the idempotency key so sending again is safe.
      if (apiError.code !== 'NETWORK') idempotencyKey = undefined;
      if (apiError.field) return fieldErrors([{ field: apiError.field, message: apiError.message }]);
      // The page's own words where it has them, else the server's message: one of them, never both.
      generalError(API_ERROR_WORDS[apiError.code] ?? apiError.message);
    } finally {
      submit.disabled = false;
      sending = false;
      submit.textContent = idleLabel;
    }
  }

  return {
    estimate,
    /** Fills the form with a generation's settings, to make a variation of it. */
    fill(generation: Generation) {
      const set = (id: string, text: string) => (byId<HTMLInputElement>(id).value = text);
      set('prompt', generation.prompt);
      set('negativePrompt', generation.negativePrompt ?? '');
      set('image', generation.image ?? '');
      set('lastFrame', generation.lastFrame ?? '');
      set('aspectRatio', generation.aspectRatio);
      set('durationSeconds', String(generation.durationSeconds));
      byId<HTMLInputElement>('mode-video').checked = true;
      applyMode();
      setContinueFrom(undefined);
      set('resolution', generation.resolution);
      set('seed', String(generation.seed));
      byId<HTMLInputElement>('generateAudio').checked = generation.generateAudio;
      idempotencyKey = undefined;
      void estimate();
      byId('prompt').focus();
    },
    /** "Continue this scene": a new video whose first frame is this one's last, with its settings. */
    continueScene(generation: Generation) {
      byId<HTMLInputElement>('mode-video').checked = true;
      applyMode();
      const set = (id: string, text: string) => (byId<HTMLInputElement>(id).value = text);
      set('prompt', '');
      set('image', '');
      set('lastFrame', '');
      byId<HTMLInputElement>('imageFile').value = '';
      byId<HTMLInputElement>('lastFrameFile').value = '';
      set('aspectRatio', generation.aspectRatio);
      set('resolution', generation.resolution);
      byId<HTMLInputElement>('generateAudio').checked = generation.generateAudio;
      setContinueFrom(generation);
      idempotencyKey = undefined;
      void estimate();
      byId('prompt').focus();
    },
  };
}
