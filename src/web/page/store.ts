import { ApiError, type Api } from './api.js';
import {
  PageWatchDocument,
  type GenerationStatus,
  type PageGenerationFragment,
  type PageGenerationSummaryFragment,
} from '../../contract/generated/page/graphql.js';

/**
 * A generation as the page knows it: the summary the list loads, with the timeline once the page has followed
 * it (the fragments of src/contract/operations/page.graphql).
 */
export type Generation = PageGenerationSummaryFragment & { events?: PageGenerationFragment['events'] };
export type Money = Generation['cost'];

const FINAL_STATUSES: readonly GenerationStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];
export const isFinal = (status: GenerationStatus) => FINAL_STATUSES.includes(status);

/**
 * Every generation the page knows, kept current by one generationStatus subscription per unfinished
 * generation, however many parts of the page show it.
 */
export class GenerationStore {
  private readonly generations = new Map<string, Generation>();
  private readonly listeners = new Set<(generation: Generation) => void>();
  private readonly watches = new Map<string, () => void>();

  constructor(
    private readonly api: Api,
    private readonly onError: (id: string, error: ApiError) => void,
  ) {}

  get(id: string): Generation | undefined {
    return this.generations.get(id);
  }

  onChange(listener: (generation: Generation) => void): void {
    this.listeners.add(listener);
  }

  /** Records a generation unless a newer version is already known; keeps the timeline when `next` lacks it. */
  put(next: Generation): void {
    const known = this.generations.get(next.id);
    if (known && known.version > next.version) return;
    const merged = next.events || !known ? next : { ...next, events: known.events };
    this.generations.set(next.id, merged);
    for (const listener of this.listeners) listener(merged);
  }

  /** Follows a generation live until it is final. */
  watch(id: string): void {
    const known = this.generations.get(id);
    if (this.watches.has(id) || (known && isFinal(known.status))) return;
    const stop = this.api.subscribe(PageWatchDocument, { id }, {
      next: ({ generationStatus }) => this.put(generationStatus),
      error: (error) => {
        this.watches.delete(id);
        this.onError(id, error);
      },
      complete: () => this.watches.delete(id),
    });
    this.watches.set(id, stop);
  }

  /** Forgets everything (another key sees other generations). */
  clear(): void {
    for (const stop of this.watches.values()) stop();
    this.watches.clear();
    this.generations.clear();
  }
}

export { ApiError };
