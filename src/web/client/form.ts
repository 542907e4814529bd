import { ApiError, type Api } from './api.js';
import { byId, show } from './dom.js';
import { ESTIMATE_COST, GENERATE_VIDEO, type Generation, type GenerateVideoResult, type Money } from './operations.js';
import { API_ERROR_WORDS, dateTime, money } from './words.js';

type Input = Record<string, unknown>;

const FIELDS_WITH_ERRORS = ['prompt', 'negativePrompt', 'image', 'imageFile', 'lastFrame', 'lastFrameFile', 'seed'];
const MAX_SEED = 2147483647;

/** The new-video form: live price, validation, submission, and errors shown next to their field. */
export function setupForm(api: Api, onCreated: (generation: Generation) => void) {
  const form = byId<HTMLFormElement>('generate-form');
  const price = byId('price');
  const submit = byId<HTMLButtonElement>('submit');
  const formError = byId('form-error');
  const value = (id: string) => byId<HTMLInputElement>(id).value.trim();
  const file = (id: string) => byId<HTMLInputElement>(id).files?.[0];
  // Kept until the server answers, so resubmitting after a lost answer cannot queue (and charge) twice.
  let idempotencyKey: string | undefined;

  function clearErrors() {
    show(formError, false);
    for (const field of FIELDS_WITH_ERRORS) {
      show(byId(`${field}-error`), false);
      byId(field).removeAttribute('aria-invalid');
    }
  }

  function fieldError(field: string, message: string) {
    const target = FIELDS_WITH_ERRORS.includes(field) ? field : null;
    if (!target) return generalError(message);
    const note = byId(`${target}-error`);
    note.textContent = message;
    show(note, true);
    byId(target).setAttribute('aria-invalid', 'true');
    byId(target).focus();
  }

  function generalError(message: string) {
    formError.textContent = message;
    show(formError, true);
  }

  /** The input as the API takes it, plus the files to upload; or the problem to show next to its field. */
  function read(): { input: Input; files: Record<string, File> } | { field: string; message: string } {
    const input: Input = {
      prompt: value('prompt'),
      aspectRatio: value('aspectRatio'),
      durationSeconds: Number(value('durationSeconds')),
      resolution: value('resolution'),
      generateAudio: byId<HTMLInputElement>('generateAudio').checked,
    };
    const files: Record<string, File> = {};
    if (value('negativePrompt')) input.negativePrompt = value('negativePrompt');
    for (const [url, upload] of [['image', 'imageFile'], ['lastFrame', 'lastFrameFile']] as const) {
      const chosen = file(upload);
      if (chosen && value(url)) return { field: upload, message: 'Give either an image URL or a file, not both.' };
      if (chosen) {
        input[upload] = null;
        files[`input.${upload}`] = chosen;
      } else if (value(url)) {
        input[url] = value(url);
      }
    }
    const seed = value('seed');
    if (seed) {
      const number = Number(seed);
      if (!Number.isInteger(number) || number < 0 || number > MAX_SEED) {
        return { field: 'seed', message: `The seed is a whole number from 0 to ${MAX_SEED}; leave it empty for a random one.` };
      }
      input.seed = number;
    }
    return { input, files };
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
      const { estimateCost } = await api.request<{ estimateCost: Money }>(ESTIMATE_COST, { input });
      if (run !== estimateRun) return;
      price.textContent = money(estimateCost);
      submit.textContent = `Generate video for ${money(estimateCost)}`;
    } catch {
      if (run !== estimateRun) return;
      price.textContent = '—';
      submit.textContent = 'Generate video';
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
    if (!('input' in parsed)) return fieldError(parsed.field, parsed.message);
    const { input, files } = parsed;
    if (!input.prompt) return fieldError('prompt', 'Write a prompt: what the video should show.');
    idempotencyKey ??= crypto.randomUUID();
    input.idempotencyKey = idempotencyKey;
    submit.disabled = true;
    const label = submit.textContent;
    submit.textContent = 'Sending…';
    try {
      const variables = { input };
      const { generateVideo: result } = Object.keys(files).length
        ? await api.upload<{ generateVideo: GenerateVideoResult }>(GENERATE_VIDEO, variables, files)
        : await api.request<{ generateVideo: GenerateVideoResult }>(GENERATE_VIDEO, variables);
      idempotencyKey = undefined;
      switch (result.__typename) {
        case 'GenerateVideoSuccess':
          onCreated(result.generation);
          return;
        case 'InputError':
          return fieldError(result.field, result.message);
        case 'BudgetExceededError':
          return generalError(`${result.message} Budgets reset at ${dateTime(result.resetsAt)}.`);
        default:
          return generalError(result.message);
      }
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(String(error), 'UNKNOWN');
      // A network failure may hide a success: keep the idempotency key so sending again is safe.
      if (apiError.code !== 'NETWORK') idempotencyKey = undefined;
      if (apiError.field) return fieldError(apiError.field, apiError.message);
      generalError(API_ERROR_WORDS[apiError.code] ? `${API_ERROR_WORDS[apiError.code]} (${apiError.message})` : apiError.message);
    } finally {
      submit.disabled = false;
      submit.textContent = label;
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
