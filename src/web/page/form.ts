import { ApiError, type Api } from './api.js';
import { VEO } from '../../contract/tables.js';
import { byId, show } from './dom.js';
import { PageEstimateCostDocument, PageGenerateVideoDocument } from '../../contract/generated/page/graphql.js';
import type { Generation } from './store.js';
import { API_ERROR_WORDS, budgetWords, inPageWords, money } from './words.js';

type Input = Record<string, unknown>;

interface Problem {
  field: string;
  message: string;
}

const FIELDS_WITH_ERRORS = ['prompt', 'negativePrompt', 'image', 'imageFile', 'lastFrame', 'lastFrameFile', 'seed'];
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

/** The new-video form: live price, validation, submission, and errors shown next to their field. */
export function setupForm(api: Api, onCreated: (generation: Generation) => void) {
  const form = byId<HTMLFormElement>('generate-form');
  const submit = byId<HTMLButtonElement>('submit');
  const formError = byId('form-error');
  const value = (id: string) => byId<HTMLInputElement>(id).value.trim();
  const file = (id: string) => byId<HTMLInputElement>(id).files?.[0];
  // Kept until the server answers, so resubmitting after a lost answer cannot queue (and charge) twice.
  let idempotencyKey: string | undefined;
  // What the button says when idle; an estimate that lands while a request is sent must not be lost.
  let idleLabel = 'Generate video';
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
  }

  /** Shows each problem next to its field (all at once) and moves the focus to the first. */
  function fieldErrors(problems: Problem[]) {
    let first: HTMLElement | undefined;
    const elsewhere: string[] = [];
    for (const { field, message } of problems) {
      const target = FIELDS_WITH_ERRORS.includes(field) ? field : null;
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
    if ((input.lastFrame !== undefined || files['input.lastFrameFile']) && input.image === undefined && !files['input.imageFile']) {
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
    // The price depends on duration, resolution and sound only; the prompt may still be empty.
    const input = { ...parsed.input, prompt: (parsed.input.prompt as string) || 'price estimate', imageFile: undefined, lastFrameFile: undefined };
    try {
      const { estimateCost } = await api.request(PageEstimateCostDocument, { input });
      if (run !== estimateRun) return;
      label(`Generate video for ${money(estimateCost)}`);
    } catch {
      if (run !== estimateRun) return;
      label('Generate video');
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
      ...(value('prompt') ? [] : [{ field: 'prompt', message: 'Write a prompt: what the video should show.' }]),
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
      const { generateVideo: result } = Object.keys(files).length
        ? await api.upload(PageGenerateVideoDocument, variables, files)
        : await api.request(PageGenerateVideoDocument, variables);
      idempotencyKey = undefined;
      switch (result.__typename) {
        case 'GenerateVideoSuccess':
          onCreated(result.generation);
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
      set('resolution', generation.resolution);
      set('seed', String(generation.seed));
      byId<HTMLInputElement>('generateAudio').checked = generation.generateAudio;
      idempotencyKey = undefined;
      void estimate();
      byId('prompt').focus();
    },
  };
}
