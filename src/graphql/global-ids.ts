import { decodeGlobalID as decodeTypedGlobalID, encodeGlobalID as encodeTypedGlobalID } from '@pothos/plugin-relay';
import { isGenerationId } from '../generations/lookup.js';

/*
 * Relay global ids (what `Node.id`, `node(id)` and `nodes(ids)` carry).
 *
 * A Generation's global id IS its UUID, exactly the id it had before the Node interface existed: clients already
 * hold these ids (in URLs, local storage, video links, idempotent retries) and pass them to `generation(id)`,
 * `generationStatus(id)` and `cancelGeneration(id)`, so one id keeps meaning one generation on every path.
 *
 * Any other node type (Story, when it comes) uses the plugin's own form, base64 of `<Typename>:<id>`, and must be
 * listed in NODE_TYPES. The two forms cannot be confused: base64 of a typename and a colon never has a UUID's
 * hyphens in a UUID's places, so a UUID always means a Generation. The base64 form of a Generation
 * (`Generation:<uuid>`) is accepted as input too, for tools that build ids the plugin's way.
 */

/** The types `node(id)` can load, besides Generation's bare UUIDs. Each new `builder.node` type goes here. */
const NODE_TYPES: ReadonlySet<string> = new Set(['Generation', 'Story']);

/** The global id of a node: a Generation's UUID as it is, any other type in the plugin's `<Typename>:<id>` form. */
export function encodeGlobalId(typename: string, id: string | number | bigint): string {
  return typename === 'Generation' ? String(id) : encodeTypedGlobalID(typename, id);
}

/**
 * The node a global id names. Anything that is neither a UUID nor the typed form of a known node type is read as
 * a Generation id that matches nothing, so `node(id)` answers null for it, as `generation(id)` does for a
 * malformed id, instead of an error.
 */
export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  if (isGenerationId(globalId)) return { typename: 'Generation', id: globalId };
  try {
    const typed = decodeTypedGlobalID(globalId);
    if (NODE_TYPES.has(typed.typename)) return typed;
  } catch {
    // Not the plugin's form either: fall through to an id that names nothing.
  }
  return { typename: 'Generation', id: globalId };
}
