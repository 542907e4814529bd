/**
 * Who runs the jobs, as timeline messages name it: in simulator mode nothing goes to Segmind, and the
 * timeline must not say it does.
 */
export type UpstreamName = 'Segmind' | 'the Segmind simulator';

export const upstreamNameOf = (provider: 'SEGMIND' | 'SIMULATOR'): UpstreamName =>
  provider === 'SIMULATOR' ? 'the Segmind simulator' : 'Segmind';

/** The name at the start of a sentence. */
export const capitalized = (name: UpstreamName): string => name.charAt(0).toUpperCase() + name.slice(1);
