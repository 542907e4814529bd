import { sql } from 'drizzle-orm';
import type { Database, Tx } from '../db/open.js';

/**
 * A Postgres NOTIFY channel: its name and how its payload is written and read. Every process of the deployment
 * speaks these, so the names and the text of the payloads never change.
 */
export interface Channel<Payload> {
  readonly name: string;
  encode(payload: Payload): string;
  /** Null for a payload this channel never carries (nothing of ours sends one; anyone may NOTIFY). */
  parse(text: string): Payload | null;
}

/** Postgres refuses a NOTIFY payload of 8,000 bytes or more. */
export const MAX_NOTIFY_PAYLOAD_BYTES = 7999;

/**
 * A generation changed: `<id>:<version>` after every committed change, read by every process's event bus. When
 * it fits, the payload also carries the new version's snapshot (the JSON the timeline stores for it) after a
 * newline, so subscribers need no read of the timeline for it; a snapshot JSON text never holds a raw newline.
 * A process from before snapshots were carried reads such a payload as an unknown id, and its subscribers get
 * the version at their next sweep of the timeline.
 */
export const generationUpdates: Channel<{ id: string; version: number; snapshot?: string }> = {
  name: 'generation_updates',
  encode({ id, version, snapshot }) {
    const head = `${id}:${version}`;
    if (snapshot === undefined) return head;
    const carried = `${head}\n${snapshot}`;
    return Buffer.byteLength(carried) <= MAX_NOTIFY_PAYLOAD_BYTES ? carried : head;
  },
  parse(text) {
    const newline = text.indexOf('\n');
    const head = newline < 0 ? text : text.slice(0, newline);
    const separator = head.lastIndexOf(':');
    if (separator < 0) return null;
    const update = { id: head.slice(0, separator), version: Number(head.slice(separator + 1)) };
    return newline < 0 ? update : { ...update, snapshot: text.slice(newline + 1) };
  },
};

/** A story changed: `<id>:<version>` after every committed change, read by every process's event bus. */
export const storyUpdates: Channel<{ id: string; version: number }> = {
  name: 'story_updates',
  encode: ({ id, version }) => generationUpdates.encode({ id, version }),
  parse: (text) => {
    const update = generationUpdates.parse(text);
    return update && { id: update.id, version: update.version };
  },
};

/** A story's shots all succeeded: its id, to wake the stitching workers at once instead of at their next sweep. */
export const storyStitchesDue: Channel<{ id: string }> = {
  name: 'story_stitches_due',
  encode: ({ id }) => id,
  parse: (text) => ({ id: text }),
};

/** A generation became due: the id, to wake the workers at once instead of at their next sweep. */
export const generationJobs: Channel<{ id: string }> = {
  name: 'generation_jobs',
  encode: ({ id }) => id,
  parse: (text) => ({ id: text }),
};

/** A webhook delivery became due (queued, or the one before it finished): wakes the delivering workers. */
export const webhookDeliveriesDue: Channel<{ generationId: string }> = {
  name: 'webhook_deliveries_due',
  encode: ({ generationId }) => generationId,
  parse: (text) => ({ generationId: text }),
};

/** A key was just revoked: its id, so every process ends the key's sockets and subscriptions. */
export const apiKeyRevoked: Channel<{ keyId: string }> = {
  name: 'api_key_revoked',
  encode: ({ keyId }) => keyId,
  parse: (text) => ({ keyId: text }),
};

/** Sends on `channel` inside the caller's transaction: Postgres delivers it only if the transaction commits. */
export async function notifyTx<Payload>(tx: Tx, channel: Channel<Payload>, payload: Payload): Promise<void> {
  await tx.execute(sql`select pg_notify(${channel.name}, ${channel.encode(payload)})`);
}

/**
 * Listens on `channel` with parsed payloads; the returned function stops listening. `onRelisten` runs after the
 * listening connection came back: what was sent meanwhile is lost, so re-read what matters.
 */
export function listenTo<Payload>(
  database: Pick<Database, 'listen'>,
  channel: Channel<Payload>,
  onPayload: (payload: Payload) => void,
  onRelisten?: () => void,
): Promise<() => Promise<void>> {
  return database.listen(
    channel.name,
    (text) => {
      const payload = channel.parse(text);
      if (payload) onPayload(payload);
    },
    onRelisten,
  );
}
