import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/auth/keys.js';
import { EventType, isEventType } from '../../src/contract/tables.js';
import { openDatabase, type Database } from '../../src/db/open.js';
import { generationEvents } from '../../src/db/schema.js';
import { apiKeyRevoked, generationJobs, generationUpdates, listenTo } from '../../src/events/channels.js';
import { generationSnapshots, insertGenerationTx, listEvents, listEventsOfMany, transition, versionsSince, type EventInput } from '../../src/events/timeline.js';
import { newGenerationRow } from '../helpers/generation-rows.js';
import { waitFor } from '../helpers/wait.js';

// @ts-expect-error a misspelt event type does not compile
const misspelt: EventInput = { type: 'cancelled', message: 'Canceled.' };

describe('the timeline, on the embedded database', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ url: undefined, dataDir: 'memory://' });
  });
  afterAll(() => database.close());

  const newGeneration = (apiKeyId: string) => newGenerationRow(apiKeyId);

  it('appends one event per version with its notify, stores only types of the table, and replays rows with dates', async () => {
    const { apiKey } = await createApiKey(database.db, { name: `timeline-${randomUUID()}` });
    const updates: { id: string; version: number; snapshot?: string }[] = [];
    const jobs: string[] = [];
    const revoked: string[] = [];
    const stops = await Promise.all([
      listenTo(database, generationUpdates, (payload) => updates.push(payload)),
      listenTo(database, generationJobs, ({ id }) => jobs.push(id)),
      listenTo(database, apiKeyRevoked, ({ keyId }) => revoked.push(keyId)),
    ]);
    try {
      const created = await database.db.transaction((tx) => insertGenerationTx(tx, newGeneration(apiKey.id)));
      await transition(database.db, created.id, { set: { progress: 0.5 } });
      // Revoking the key cancels what it queued: the third version, appended from inside the revoke.
      await revokeApiKey(database.db, apiKey.name);

      const stored = await database.db.select().from(generationEvents);
      const ours = stored.filter((event) => event.generationId === created.id);
      expect(ours.map((event) => event.type)).toEqual([EventType.Created, EventType.Progress, EventType.Canceled]);
      expect(stored.filter((event) => !isEventType(event.type))).toEqual([]);
      expect(isEventType(misspelt.type)).toBe(false);

      const timeline = await listEvents(database.db, created.id, 3);
      expect(timeline.map((event) => event.type)).toEqual([EventType.Created, EventType.Canceled]);

      const replayed = await versionsSince(database.db, created.id, 0);
      expect(replayed.map((row) => [row.version, row.status])).toEqual([[1, 'QUEUED'], [2, 'QUEUED'], [3, 'CANCELED']]);
      expect(replayed[2]!.completedAt).toBeInstanceOf(Date);
      expect(replayed[0]!.deadlineAt.getTime()).toBe(created.deadlineAt.getTime());

      await waitFor('the three notifications', () => updates.length >= 3 && revoked.length >= 1);
      expect(updates.map(({ id, version }) => ({ id, version }))).toEqual([1, 2, 3].map((version) => ({ id: created.id, version })));
      // Each notification carries its version's snapshot (it fits), the row as the timeline stores it.
      expect(updates.map((update) => generationSnapshots.decode(JSON.parse(update.snapshot!) as Record<string, unknown>))).toEqual(replayed);
      // The workers are woken for the versions that are queued, not for the cancel.
      expect(jobs).toEqual([created.id, created.id]);
      expect(revoked).toEqual([apiKey.id]);
    } finally {
      for (const stop of stops) await stop();
    }
  });

  it('reads many timelines in one call, one per key in order, each up to its own version', async () => {
    const { apiKey } = await createApiKey(database.db, { name: `timelines-${randomUUID()}` });
    const a = await database.db.transaction((tx) => insertGenerationTx(tx, newGeneration(apiKey.id)));
    const b = await database.db.transaction((tx) => insertGenerationTx(tx, newGeneration(apiKey.id)));
    await transition(database.db, a.id, { set: { progress: 0.5 } });
    const canceled = await transition(database.db, a.id, {
      set: { status: 'CANCELED', completedAt: new Date() },
      event: { type: EventType.Canceled, message: 'Canceled.' },
    });
    expect(canceled?.version).toBe(3);

    const keys = [
      { id: a.id, version: 3 },
      { id: b.id, version: 1 },
      { id: a.id, version: 1 }, // a row replayed at an older version sees the timeline of that version
      { id: randomUUID(), version: 1 },
    ];
    const timelines = await listEventsOfMany(database.db, keys);
    expect(timelines.map((events) => events.map((event) => [event.generationId, event.type]))).toEqual([
      [[a.id, EventType.Created], [a.id, EventType.Canceled]],
      [[b.id, EventType.Created]],
      [[a.id, EventType.Created]],
      [],
    ]);
    for (const [i, key] of keys.entries()) expect(await listEvents(database.db, key.id, key.version)).toEqual(timelines[i]);
    expect(await listEventsOfMany(database.db, [])).toEqual([]);
  });
});
