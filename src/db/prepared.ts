import type { PgPreparedQuery, PreparedQueryConfig } from 'drizzle-orm/pg-core';
import type { Query } from 'drizzle-orm';
import type { Db, Tx } from './open.js';

/*
 * Statements of a fixed shape, for the hot paths. drizzle builds a query's SQL text anew on every call (for the
 * 36-column generation INSERT that costs more CPU than sending it) and sends it unnamed, so Postgres parses and
 * plans it every time. A fixed statement is built once, its varying parts being `sql.placeholder`s, and sent
 * named: postgres.js prepares it once per connection. PGlite runs it as it runs any query.
 *
 * drizzle binds a prepared query to the connection of the handle it was built on, and a transaction has its own
 * connection, so each call runs a copy bound to the handle given. That reads two fields drizzle does not export
 * (`session.client` of a handle, `client` of a prepared query), the same in its postgres.js and PGlite drivers;
 * the tests of every hot path run through here, so a drizzle upgrade that moves them fails them at once.
 */

type Handle = Db | Tx;
type Prepared<Result> = PgPreparedQuery<PreparedQueryConfig & { execute: Result }>;

const clientOf = (db: Handle): unknown => (db as unknown as { session: { client: unknown } }).session.client;

/**
 * Which driver a handle speaks (its session's class: postgres.js or PGlite). A template is built per driver: one
 * built for postgres.js cannot run on PGlite. A server uses one, but one process may hold both (the tests do).
 */
const driverOf = (db: Handle): unknown => (db as unknown as { session: object }).session.constructor;

function boundTo<Result>(template: Prepared<Result>, db: Handle): Prepared<Result> {
  const bound = Object.create(template) as Prepared<Result>;
  (bound as unknown as { client: unknown }).client = clientOf(db);
  return bound;
}

/**
 * A query built once by `build` (on whichever handle runs it first) and run on any handle, with `values` for its
 * placeholders. `name` names it in logs and tells drizzle to prepare it.
 */
export function fixedQuery<Result, Values extends Record<string, unknown> = Record<string, unknown>>(
  name: string,
  build: (db: Handle) => { prepare(name: string): Prepared<Result> },
): (db: Handle, values: Values) => Promise<Result> {
  const templates = new Map<unknown, Prepared<Result>>();
  return (db, values) => {
    let template = templates.get(driverOf(db));
    if (!template) templates.set(driverOf(db), (template = build(db).prepare(name)));
    return boundTo(template, db).execute(values);
  };
}

/**
 * Like {@link fixedQuery}, for a family of queries whose shape depends on the call (such as which columns an
 * INSERT names): `shapeOf` says which one a call needs, and each shape is built once. Bounded by `maxShapes`
 * (past that a shape is built for its call and not kept), since the shapes come from code, not from requests.
 */
export function fixedQueries<Input, Result>(
  name: string,
  shapeOf: (input: Input) => string,
  build: (db: Handle, input: Input) => { prepare(name: string): Prepared<Result> },
  valuesOf: (input: Input) => Record<string, unknown>,
  maxShapes = 16,
): (db: Handle, input: Input) => Promise<Result> {
  const templates = new Map<string, Prepared<Result>>();
  const driverIds = new Map<unknown, number>();
  return (db, input) => {
    const driver = driverOf(db);
    if (!driverIds.has(driver)) driverIds.set(driver, driverIds.size);
    const shape = `${driverIds.get(driver)}:${shapeOf(input)}`;
    let template = templates.get(shape);
    if (!template) {
      template = build(db, input).prepare(name);
      if (templates.size < maxShapes) templates.set(shape, template);
    }
    return boundTo(template, db).execute(valuesOf(input));
  };
}

/**
 * Runs SQL text written by hand (with `$1`…`$n` parameters) as a named, prepared statement on `db`: for
 * statements drizzle's builders cannot express, such as an INSERT inside a WITH that also notifies.
 */
export async function runPrepared(db: Handle, name: string, query: Query): Promise<void> {
  const session = (db as unknown as { session: { prepareQuery(query: Query, fields: undefined, name: string, arrayMode: boolean): Prepared<unknown> } })
    .session;
  await session.prepareQuery(query, undefined, name, false).execute();
}
