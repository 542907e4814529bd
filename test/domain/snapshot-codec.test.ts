import { getTableColumns } from 'drizzle-orm';
import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { generations } from '../../src/db/schema.js';
import { createSnapshotCodec, generationSnapshots } from '../../src/events/timeline.js';

/** A snapshot as it is stored: encoded, written to jsonb as JSON text, read back. */
const throughJson = (snapshot: Record<string, unknown>) => JSON.parse(JSON.stringify(snapshot)) as Record<string, unknown>;

/** The table's timestamp columns, found from the column definitions rather than from the codec under test. */
function timestampFields(table: Parameters<typeof getTableColumns>[0]): string[] {
  return Object.entries(getTableColumns(table))
    .filter(([, column]) => column.columnType === 'PgTimestamp' && column.dataType === 'date')
    .map(([field]) => field);
}

describe('the snapshot codec', () => {
  it('brings every timestamp column of generations back as the same Date', () => {
    const fields = timestampFields(generations);
    expect(fields).toEqual(expect.arrayContaining(['createdAt', 'updatedAt', 'deadlineAt', 'completedAt']));
    const row: Record<string, unknown> = { id: '00000000-0000-4000-8000-000000000001', status: 'SUCCEEDED', version: 7 };
    fields.forEach((field, i) => (row[field] = new Date(Date.UTC(2026, 0, 1 + i, 12, i, i, i))));

    const decoded = generationSnapshots.decode(throughJson(generationSnapshots.encode(row as never))) as Record<string, unknown>;

    for (const field of fields) {
      expect(decoded[field], field).toBeInstanceOf(Date);
      expect((decoded[field] as Date).getTime(), field).toBe((row[field] as Date).getTime());
    }
    expect(decoded).toMatchObject({ id: row.id, status: 'SUCCEEDED', version: 7 });
  });

  it('keeps an unset timestamp null', () => {
    const decoded = generationSnapshots.decode(throughJson({ id: 'x', completedAt: null }));
    expect(decoded.completedAt).toBeNull();
  });

  it('is derived from the table it is given: a timestamp column added later decodes as a Date', () => {
    const reviews = pgTable('reviews', {
      id: uuid('id').primaryKey(),
      score: integer('score').notNull(),
      note: text('note'),
      createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
      reviewedAt: timestamp('reviewed_at', { withTimezone: true, mode: 'date' }),
      // Drizzle hands these out as strings, so they must stay strings.
      importedAt: timestamp('imported_at', { withTimezone: true, mode: 'string' }),
    });
    const codec = createSnapshotCodec(reviews);
    const row = {
      id: '00000000-0000-4000-8000-000000000002',
      score: 4,
      note: '2026-01-01T00:00:00.000Z',
      createdAt: new Date('2026-03-04T05:06:07.089Z'),
      reviewedAt: new Date('2026-03-05T00:00:00.001Z'),
      importedAt: '2026-03-01 10:00:00+00',
    };

    const decoded = codec.decode(throughJson(codec.encode(row)));

    expect(codec.dateFields).toEqual(['createdAt', 'reviewedAt']);
    expect(decoded.reviewedAt).toBeInstanceOf(Date);
    expect(decoded.reviewedAt?.getTime()).toBe(row.reviewedAt.getTime());
    expect(decoded.createdAt.getTime()).toBe(row.createdAt.getTime());
    expect(decoded.importedAt).toBe(row.importedAt);
    expect(decoded.note).toBe(row.note);
    expect(decoded.score).toBe(4);
  });
});
