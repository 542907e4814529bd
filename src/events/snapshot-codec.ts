import { getTableColumns, type InferSelectModel, type Table } from 'drizzle-orm';

/**
 * How a row is kept in a timeline event and rebuilt from it. Snapshots are JSON, which has no dates: a timestamp
 * is stored as its ISO string and must be turned back into a Date when the row is replayed.
 */
export interface SnapshotCodec<Row> {
  encode(row: Row): Record<string, unknown>;
  decode(snapshot: Record<string, unknown>): Row;
  /** The row fields decoded as dates: every column of the table whose values are Dates. */
  readonly dateFields: readonly string[];
}

/**
 * The codec of `table`'s rows. Which fields are dates is read from the table definition, so a timestamp column
 * added later comes back as a Date without anyone remembering to list it.
 */
export function createSnapshotCodec<T extends Table>(table: T): SnapshotCodec<InferSelectModel<T>> {
  // `dataType` is 'date' exactly for the columns drizzle hands out as Date objects (timestamp and date columns in
  // mode 'date'); those in mode 'string' are strings in the row and in the snapshot alike.
  const dateFields = Object.entries(getTableColumns(table))
    .filter(([, column]) => column.dataType === 'date')
    .map(([field]) => field);
  return {
    dateFields,
    encode: (row) => JSON.parse(JSON.stringify(row)) as Record<string, unknown>,
    decode(snapshot) {
      const row = { ...snapshot };
      for (const field of dateFields) {
        const value = row[field];
        row[field] = typeof value === 'string' ? new Date(value) : null;
      }
      return row as InferSelectModel<T>;
    },
  };
}
