/**
 * Bulk writes with binary `COPY … FROM STDIN (FORMAT binary)`: columns held as typed arrays are
 * encoded straight into Postgres' binary row format, with no text, no objects per row and no
 * bind-parameter cap, over a `pg` connection opened like every connection of the project
 * (`Connection.libpqOptions`: the URL read as libpq reads it, sessions in UTC). `@effect/sql-pg`
 * does not speak COPY, so a `Session` also runs the statements around a copy (a `DELETE`, an
 * `INSERT … SELECT` from a staging table) in one transaction the caller controls.
 *
 * The embedded database (PGlite) cannot take `COPY … FROM STDIN` over the wire protocol: there,
 * `copyIn` writes the same rows with one `INSERT … SELECT FROM unnest(…)` a batch, in one
 * transaction (slower, the same result).
 */

import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Pool, PoolClient } from "pg"
import type { CopyStreamQuery } from "pg-copy-streams"
import * as Connection from "./Connection.ts"

/** What went wrong, where: connecting, a statement, the copy itself, or a value that cannot be encoded. */
export class BulkCopyError extends Schema.TaggedError<BulkCopyError>()("BulkCopyError", {
  operation: Schema.Literals(["connect", "query", "copy", "encode"]),
  reason: Schema.String,
  /** Postgres' SQLSTATE, when the server refused (e.g. `23505` for a duplicate key). */
  code: Schema.optional(Schema.String),
  table: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const where = this.table === undefined ? "" : ` into ${this.table}`
    return `bulk copy${where} failed (${this.operation}${this.code === undefined ? "" : `, SQLSTATE ${this.code}`}): ${this.reason}`
  }
}

/** The column types `copyIn` encodes, by their Postgres names. */
export type ColumnType = "timestamptz" | "timestamp" | "float8" | "int2" | "int4" | "int8" | "text"

/**
 * One column of rows to copy: the table's column `name`, its Postgres type, and its values, an array
 * with a value per row or a single value for every row (a constant column, e.g. the partition's
 * asset). `copyIn` checks each type against the table before it writes.
 */
export type Column =
  | {
      readonly name: string
      readonly type: "timestamptz" | "timestamp" | "float8"
      readonly values: Float64Array | number
    }
  | {
      readonly name: string
      readonly type: "int2" | "int4" | "int8"
      readonly values: ArrayLike<number | null> | number | null
    }
  | { readonly name: string; readonly type: "text"; readonly values: ArrayLike<string | null> | string | null }

/**
 * `timestamptz` from epoch milliseconds (`SampleFrame` timestamps); `NaN` is `NULL`. Fractions of a
 * millisecond are kept to the microsecond, exactly for any instant a `Date` holds.
 */
export const timestamptz = (name: string, values: Float64Array | number): Column => ({
  name,
  type: "timestamptz",
  values
})

/** A naive `timestamp` holding the UTC wall clock of epoch milliseconds (the reference's schema); `NaN` is `NULL`. */
export const timestamp = (name: string, values: Float64Array | number): Column => ({ name, type: "timestamp", values })

/** `double precision`; `NaN` is `NULL`, ±Infinity are Postgres' infinities. */
export const float8 = (name: string, values: Float64Array | number): Column => ({ name, type: "float8", values })

/** `smallint`; `null` is `NULL`. */
export const int2 = (name: string, values: ArrayLike<number | null> | number | null): Column => ({
  name,
  type: "int2",
  values
})

/** `integer`; `null` is `NULL`. */
export const int4 = (name: string, values: ArrayLike<number | null> | number | null): Column => ({
  name,
  type: "int4",
  values
})

/** `bigint` from safe integers; `null` is `NULL`. */
export const int8 = (name: string, values: ArrayLike<number | null> | number | null): Column => ({
  name,
  type: "int8",
  values
})

/** `text` (or `varchar`); `null` is `NULL`. */
export const text = (name: string, values: ArrayLike<string | null> | string | null): Column => ({
  name,
  type: "text",
  values
})

/** `length` rows, one value per row in each column (or one for all). */
export interface Batch {
  readonly length: number
  readonly columns: ReadonlyArray<Column>
}

export const batch = (length: number, columns: ReadonlyArray<Column>): Batch => ({ length, columns })

// The types a column may be written into, as `format_type` names them.
const accepts: Record<ColumnType, ReadonlyArray<string>> = {
  timestamptz: ["timestamp with time zone"],
  timestamp: ["timestamp without time zone"],
  float8: ["double precision"],
  int2: ["smallint"],
  int4: ["integer"],
  int8: ["bigint"],
  text: ["text", "character varying", "character"]
}

// --- Postgres' binary COPY format -------------------------------------------------------------

/** `PGCOPY\n\377\r\n\0`, no flags, no header extension. */
const header = Uint8Array.of(0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0)
const trailer = Uint8Array.of(0xff, 0xff)

const twoTo32 = 4_294_967_296
/** 2000-01-01T00:00:00Z, Postgres' epoch, in epoch milliseconds. */
const postgresEpoch = 946_684_800_000

/** How a column writes the value of row `i` at `at`; returns the offset after it. */
type Writer = (view: DataView, bytes: Uint8Array, at: number, i: number) => number

interface Encoder {
  /** The most bytes one row's field takes (length word included), or -1 when it varies (text). */
  readonly width: number
  /** The bytes row `i`'s field takes (length word included). */
  readonly size: (i: number) => number
  readonly write: Writer
}

const writeNull = (view: DataView, at: number): number => {
  view.setInt32(at, -1)
  return at + 4
}

/**
 * Microseconds since 2000-01-01 as a big-endian int64, computed in two 32-bit halves so that it is
 * exact for every instant a `Date` holds (the microsecond count itself passes 2^53 outside about
 * 1715–2285).
 */
const writeMicros = (view: DataView, at: number, millis: number): number => {
  const whole = Math.floor(millis)
  const fraction = Math.round((millis - whole) * 1000)
  const since = whole - postgresEpoch
  const high = Math.floor(since / twoTo32)
  const low = (since - high * twoTo32) * 1000 + fraction
  const carry = Math.floor(low / twoTo32)
  view.setInt32(at, 8)
  view.setInt32(at + 4, high * 1000 + carry)
  view.setUint32(at + 8, low - carry * twoTo32)
  return at + 12
}

const writeInt64 = (view: DataView, at: number, value: number): number => {
  const high = Math.floor(value / twoTo32)
  view.setInt32(at, 8)
  view.setInt32(at + 4, high)
  view.setUint32(at + 8, value - high * twoTo32)
  return at + 12
}

const utf8 = new TextEncoder()

/** Checks every value an encoder will write, so that a copy never starts with values it cannot finish. */
const check = (column: Column, length: number): string | undefined => {
  if (typeof column.values === "object" && column.values !== null && column.values.length !== length) {
    return `column ${column.name} has ${column.values.length} values for ${length} rows`
  }
  const invalid = (row: number, value: unknown, expected: string) =>
    `column ${column.name}, row ${row}: ${String(value)} is not ${expected}`
  switch (column.type) {
    case "int2":
    case "int4":
    case "int8": {
      const values = column.values
      const [min, max, expected] =
        column.type === "int2"
          ? [-32_768, 32_767, "an int2"]
          : column.type === "int4"
            ? [-2_147_483_648, 2_147_483_647, "an int4"]
            : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, "a safe integer"]
      const ok = (value: number | null) => value === null || (Number.isInteger(value) && value >= min && value <= max)
      if (typeof values === "number" || values === null) return ok(values) ? undefined : invalid(0, values, expected)
      // Typed arrays that cannot hold anything else need no look.
      if (values instanceof Int16Array || (values instanceof Int32Array && column.type !== "int2")) return undefined
      for (let i = 0; i < length; i++) if (!ok(values[i]!)) return invalid(i, values[i], expected)
      return undefined
    }
    case "text": {
      const values = column.values
      if (typeof values === "string" || values === null) return undefined
      for (let i = 0; i < length; i++) {
        const value = values[i]
        if (value !== null && typeof value !== "string") return invalid(i, value, "a string or null")
      }
      return undefined
    }
    default: {
      const values: unknown = column.values
      if (typeof values === "number" || values instanceof Float64Array) return undefined
      return invalid(0, values, "a Float64Array or a number")
    }
  }
}

const encoder = (column: Column): Encoder => {
  switch (column.type) {
    case "timestamptz":
    case "timestamp":
    case "float8": {
      const values = column.values
      const micros = column.type !== "float8"
      if (typeof values === "number") {
        const bytes = new Uint8Array(Number.isNaN(values) ? 4 : 12)
        const view = new DataView(bytes.buffer)
        if (Number.isNaN(values)) writeNull(view, 0)
        else if (micros) writeMicros(view, 0, values)
        else {
          view.setInt32(0, 8)
          view.setFloat64(4, values)
        }
        return constant(bytes)
      }
      return {
        width: 12,
        size: (i) => (Number.isNaN(values[i]!) ? 4 : 12),
        write: micros
          ? (view, _, at, i) => {
              const value = values[i]!
              return Number.isNaN(value) ? writeNull(view, at) : writeMicros(view, at, value)
            }
          : (view, _, at, i) => {
              const value = values[i]!
              if (Number.isNaN(value)) return writeNull(view, at)
              view.setInt32(at, 8)
              view.setFloat64(at + 4, value)
              return at + 12
            }
      }
    }
    case "int2":
    case "int4":
    case "int8": {
      const values = column.values
      const width = column.type === "int2" ? 2 : column.type === "int4" ? 4 : 8
      const writeValue = (view: DataView, at: number, value: number): number => {
        if (width === 8) return writeInt64(view, at, value)
        view.setInt32(at, width)
        if (width === 2) view.setInt16(at + 4, value)
        else view.setInt32(at + 4, value)
        return at + 4 + width
      }
      if (typeof values === "number" || values === null) {
        const bytes = new Uint8Array(values === null ? 4 : 4 + width)
        const view = new DataView(bytes.buffer)
        if (values === null) writeNull(view, 0)
        else writeValue(view, 0, values)
        return constant(bytes)
      }
      return {
        width: 4 + width,
        size: (i) => (values[i] === null ? 4 : 4 + width),
        write: (view, _, at, i) => {
          const value = values[i]!
          return value === null ? writeNull(view, at) : writeValue(view, at, value)
        }
      }
    }
    case "text": {
      const values = column.values
      if (typeof values === "string" || values === null) {
        const encoded = values === null ? undefined : utf8.encode(values)
        const bytes = new Uint8Array(4 + (encoded?.length ?? 0))
        const view = new DataView(bytes.buffer)
        if (encoded === undefined) writeNull(view, 0)
        else {
          view.setInt32(0, encoded.length)
          bytes.set(encoded, 4)
        }
        return constant(bytes)
      }
      return {
        width: -1,
        size: (i) => {
          const value = values[i]!
          return value === null ? 4 : 4 + Buffer.byteLength(value)
        },
        write: (view, bytes, at, i) => {
          const value = values[i]!
          if (value === null) return writeNull(view, at)
          const written = utf8.encodeInto(value, bytes.subarray(at + 4)).written
          view.setInt32(at, written)
          return at + 4 + written
        }
      }
    }
  }
}

/** The same bytes on every row. */
const constant = (bytes: Uint8Array): Encoder => ({
  width: bytes.length,
  size: () => bytes.length,
  write: (_, target, at) => {
    target.set(bytes, at)
    return at + bytes.length
  }
})

/** Bytes per buffer written to the connection. */
const chunkBytes = 1 << 20

/**
 * The batch's rows in binary COPY form, in buffers of about `chunkBytes`: each row a field count,
 * then each field's length (-1 for NULL) and bytes.
 */
function* encodeRows(rows: Batch): Generator<Uint8Array> {
  const encoders = rows.columns.map(encoder)
  const fixed = encoders.every((column) => column.width >= 0)
  const rowWidth = 2 + encoders.reduce((sum, column) => sum + Math.max(0, column.width), 0)
  const fields = encoders.length
  let i = 0
  while (i < rows.length) {
    // Fixed-width rows: as many as fit. Text: measure the rows that go into this buffer first.
    let end = i
    let size = 0
    if (fixed) {
      end = Math.min(rows.length, i + Math.max(1, Math.floor(chunkBytes / rowWidth)))
      size = (end - i) * rowWidth
    } else {
      while (end < rows.length && (size < chunkBytes || end === i)) {
        let row = 2
        for (const column of encoders) row += column.size(end)
        size += row
        end++
      }
    }
    const bytes = new Uint8Array(size)
    const view = new DataView(bytes.buffer)
    let at = 0
    for (; i < end; i++) {
      view.setInt16(at, fields)
      at += 2
      for (let c = 0; c < fields; c++) at = encoders[c]!.write(view, bytes, at, i)
    }
    // Fixed widths are the most a row takes: a NULL makes it shorter.
    yield at === size ? bytes : bytes.subarray(0, at)
  }
}

// --- Connections -------------------------------------------------------------------------------

interface PgError {
  readonly message?: string
  readonly code?: string
}

const failure =
  (operation: BulkCopyError["operation"], table?: string) =>
  (error: unknown): BulkCopyError => {
    const pgError = (typeof error === "object" && error !== null ? error : {}) as PgError
    // Postgres' SQLSTATEs are five characters; Node's errors use `code` for ECONNREFUSED and the like.
    const code = typeof pgError.code === "string" && /^[0-9A-Z]{5}$/.test(pgError.code) ? pgError.code : undefined
    const isConnect = code === undefined && typeof pgError.code === "string"
    return new BulkCopyError({
      operation: isConnect ? "connect" : operation,
      reason: Connection.reasonOf(error) || "unknown error",
      ...(code === undefined ? {} : { code }),
      ...(table === undefined ? {} : { table })
    })
  }

/** A connection of the pool, for the statements and copies of one unit of work. */
export interface Session {
  /**
   * Runs one statement with `$1`-style parameters; rows as `pg` reads them (`timestamptz` as
   * `Date`, `bigint` as a string).
   */
  readonly query: <A extends object = Record<string, unknown>>(
    sql: string,
    params?: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<A>, BulkCopyError>
  /**
   * `COPY table (columns) FROM STDIN (FORMAT binary)` of one batch or of a stream of batches (one
   * COPY for all, written as they come, with the connection's backpressure); every batch has the
   * columns of the first, by name and type, and the types are checked against the table first.
   * Returns the rows copied. Inside `transaction` it commits with the transaction; outside it
   * commits alone.
   */
  readonly copyIn: <E = never, R = never>(
    table: string,
    rows: Batch | Stream.Stream<Batch, E, R>
  ) => Effect.Effect<number, BulkCopyError | E, R>
  /**
   * Runs `effect` in a transaction on this connection: committed when it succeeds, rolled back when
   * it fails or is interrupted. Nested calls use savepoints.
   */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, BulkCopyError | E, R>
}

export interface Options {
  /** Connections in the pool; 4 by default. */
  readonly maxConnections?: number | undefined
  /** The `application_name` the server shows in `pg_stat_activity`; `delfos` by default. */
  readonly applicationName?: string | undefined
  /** How long to wait for a connection; 10 seconds by default. */
  readonly connectTimeoutMillis?: number | undefined
}

/** Bulk copies into one database, through a pool of `pg` connections opened on first use. */
export class BulkCopy extends Context.Service<
  BulkCopy,
  {
    /** The database as messages may show it: `postgres://user@host:port/database`. */
    readonly display: string
    /**
     * A connection held until the scope closes. It goes back to the pool afterwards, or is closed
     * when something was left unfinished on it (an interrupted statement or copy, an open transaction).
     */
    readonly session: Effect.Effect<Session, BulkCopyError, Scope.Scope>
  }
>()("@delfos/postgres/BulkCopy") {}

// Loaded on first use: a command that never copies does not pay for loading `pg`.
const loadDriver = async () => {
  const [{ default: pg }, { default: copyStreams }] = await Promise.all([import("pg"), import("pg-copy-streams")])
  return { Pool: pg.Pool, copyFrom: copyStreams.from }
}

type Driver = Awaited<ReturnType<typeof loadDriver>>

const columnTypes = (session: Session, table: string) =>
  Effect.map(
    session.query<{ name: string; type: string }>(
      `SELECT a.attname AS name,
        format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL) AS type
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
      [table]
    ),
    (rows) => new Map(rows.map((row) => [row.name, row.type]))
  )

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`

const dayMillis = 86_400_000

/**
 * Where COPY cannot be had (the embedded database): one `INSERT … SELECT FROM unnest(…)` for a
 * batch, each column bound as an array. An instant goes as whole days and seconds since 1970, which
 * Postgres turns back into a timestamp exactly.
 */
const insertStatement = (table: string, columns: ReadonlyArray<Column>) => {
  const arrays: Array<string> = []
  const aliases: Array<string> = []
  const values: Array<string> = []
  columns.forEach((column, c) => {
    if (column.type === "timestamptz" || column.type === "timestamp") {
      arrays.push(`$${arrays.length + 1}::int4[]`, `$${arrays.length + 2}::float8[]`)
      aliases.push(`d${c}`, `s${c}`)
      const naive = `(timestamp '1970-01-01' + make_interval(days => d${c}, secs => s${c}))`
      values.push(column.type === "timestamptz" ? `${naive} AT TIME ZONE 'UTC'` : naive)
    } else {
      arrays.push(`$${arrays.length + 1}::${column.type}[]`)
      aliases.push(`c${c}`)
      values.push(`c${c}`)
    }
  })
  return `INSERT INTO ${table} (${columns.map((column) => quoteIdentifier(column.name)).join(", ")})
    SELECT ${values.join(", ")} FROM unnest(${arrays.join(", ")}) AS u(${aliases.join(", ")})`
}

/** The arrays `insertStatement` binds for a batch. */
const insertParameters = (rows: Batch): Array<Array<unknown>> =>
  rows.columns.flatMap((column) => {
    const at = (i: number): unknown =>
      typeof column.values === "object" && column.values !== null
        ? (column.values as ArrayLike<unknown>)[i]
        : column.values
    const each = <A>(f: (value: unknown) => A) => Array.from({ length: rows.length }, (_, i) => f(at(i)))
    switch (column.type) {
      case "timestamptz":
      case "timestamp": {
        const days = each((value) => (Number.isNaN(value) ? null : Math.floor((value as number) / dayMillis)))
        const seconds = each((value) =>
          Number.isNaN(value)
            ? null
            : ((value as number) - Math.floor((value as number) / dayMillis) * dayMillis) / 1000
        )
        return [days, seconds]
      }
      // A NaN is NULL; -0 keeps its sign (bound as text, a number would lose it).
      case "float8":
        return [each((value) => (Number.isNaN(value) ? null : Object.is(value, -0) ? "-0" : value))]
      default:
        return [each((value) => value ?? null)]
    }
  })

/** Runs the client's statement, failing with `BulkCopyError`. */
const runQuery = (client: PoolClient, sql: string, params: ReadonlyArray<unknown> | undefined) =>
  Effect.tryPromise({
    try: () => client.query(sql, params as Array<unknown> | undefined),
    catch: failure("query")
  })

interface SessionState {
  /** Left mid-statement or mid-copy: closed instead of going back to the pool. */
  broken: boolean
  /** Transactions open (savepoints beyond the first). */
  depth: number
  /** Whether the server takes `COPY … FROM STDIN` (not PGlite); known after the first copy. */
  copies: boolean | undefined
  /** Stops listening for the connection's errors, when it goes back. */
  detach?: (() => void) | undefined
}

const makeSession = (client: PoolClient, driver: Driver, state: SessionState): Session => {
  // Anything interrupted half-way leaves the connection in an unknown state: it is not reused.
  const guarded = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          state.broken = true
        })
      )
    )

  const query = <A extends object = Record<string, unknown>>(sql: string, params?: ReadonlyArray<unknown>) =>
    guarded(Effect.map(runQuery(client, sql, params), (result) => result.rows as ReadonlyArray<A>))

  const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, BulkCopyError | E, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const depth = state.depth
        const savepoint = `delfos_bulk_${depth}`
        yield* query(depth === 0 ? "BEGIN" : `SAVEPOINT ${savepoint}`)
        state.depth++
        const exit = yield* Effect.exit(restore(effect))
        state.depth--
        if (Exit.isSuccess(exit)) {
          if (depth > 0) {
            yield* query(`RELEASE SAVEPOINT ${savepoint}`)
            return exit.value
          }
          const result = yield* guarded(runQuery(client, "COMMIT", undefined))
          // COMMIT in a failed transaction rolls back without an error: say so.
          if (result.command === "ROLLBACK") {
            return yield* new BulkCopyError({
              operation: "query",
              reason: "the transaction was rolled back: a statement in it failed"
            })
          }
          return exit.value
        }
        yield* query(depth === 0 ? "ROLLBACK" : `ROLLBACK TO SAVEPOINT ${savepoint}`).pipe(
          Effect.catch(() =>
            Effect.sync(() => {
              state.broken = true
            })
          )
        )
        return yield* exit
      })
    )

  const copyIn = <E = never, R = never>(
    table: string,
    rows: Batch | Stream.Stream<Batch, E, R>
  ): Effect.Effect<number, BulkCopyError | E, R> => {
    const batches: Stream.Stream<Batch, E, R> = Stream.isStream(rows)
      ? (rows as Stream.Stream<Batch, E, R>)
      : Stream.succeed(rows as Batch)
    const failed = failure("copy", table)
    // Whether this server takes COPY at all, asked once a session.
    const known =
      state.copies !== undefined
        ? Effect.void
        : Effect.map(query<{ version: string }>("SELECT version() AS version"), ([server]) => {
            state.copies = !/PGlite/i.test(server?.version ?? "")
          })
    return Effect.andThen(known, () => {
      let copy: CopyStreamQuery | undefined
      let layout: ReadonlyArray<Column> | undefined
      let error: unknown
      let copied = 0

      const waitFor = (event: "drain" | "finish") =>
        Effect.callback<void, BulkCopyError>((resume) => {
          const stream = copy!
          const onEvent = () => {
            stream.off("error", onError)
            resume(Effect.void)
          }
          const onError = (cause: unknown) => {
            stream.off(event, onEvent)
            error ??= cause
            resume(Effect.fail(failed(cause)))
          }
          if (error !== undefined) return resume(Effect.fail(failed(error)))
          stream.once(event, onEvent)
          stream.once("error", onError)
          return Effect.sync(() => {
            stream.off(event, onEvent)
            stream.off("error", onError)
          })
        })

      const write = (bytes: Uint8Array) =>
        Effect.suspend(() => {
          if (error !== undefined) return Effect.fail(failed(error))
          return copy!.write(bytes) ? Effect.void : waitFor("drain")
        })

      let insert: string | undefined

      const start = (first: Batch) =>
        Effect.gen(function* () {
          const types = yield* columnTypes(session, table).pipe(
            Effect.mapError((e) => new BulkCopyError({ operation: e.operation, reason: e.reason, code: e.code, table }))
          )
          for (const column of first.columns) {
            const type = types.get(column.name)
            if (type === undefined || !accepts[column.type].includes(type)) {
              return yield* new BulkCopyError({
                operation: "encode",
                table,
                reason:
                  type === undefined
                    ? `${table} has no column ${column.name}`
                    : `column ${column.name} is ${type}, not ${column.type}`
              })
            }
          }
          layout = first.columns
          if (!state.copies) {
            insert = insertStatement(table, first.columns)
            return
          }
          const names = first.columns.map((column) => quoteIdentifier(column.name)).join(", ")
          copy = client.query(
            driver.copyFrom(`COPY ${table} (${names}) FROM STDIN (FORMAT binary)`, { highWaterMark: 4 * chunkBytes })
          )
          // Errors arrive whenever the server sends them; the next write or wait reports them.
          copy.on("error", (cause: unknown) => {
            error ??= cause
          })
          yield* write(header)
        })

      const send = (rows: Batch) =>
        Effect.gen(function* () {
          for (const column of rows.columns) {
            const reason = check(column, rows.length)
            if (reason !== undefined) return yield* new BulkCopyError({ operation: "encode", table, reason })
          }
          if (layout === undefined) yield* start(rows)
          else if (
            rows.columns.length !== layout.length ||
            rows.columns.some((column, c) => column.name !== layout![c]!.name || column.type !== layout![c]!.type)
          ) {
            return yield* new BulkCopyError({
              operation: "encode",
              table,
              reason: "every batch must have the columns of the first, in the same order and of the same types"
            })
          }
          if (insert !== undefined) {
            yield* query(insert, insertParameters(rows)).pipe(
              Effect.mapError((e) => new BulkCopyError({ operation: "copy", reason: e.reason, code: e.code, table }))
            )
          } else {
            for (const bytes of encodeRows(rows)) yield* write(bytes)
          }
          copied += rows.length
        })

      const finish = Effect.gen(function* () {
        // No COPY was started: nothing came, or the rows went as inserts.
        if (copy === undefined) return copied
        copy.end(trailer)
        yield* waitFor("finish")
        return copied
      })

      const all = Effect.andThen(Stream.runForEach(batches, send), finish)
      // Without COPY, the batches' inserts commit together, as a copy does.
      const atomic = state.copies === false ? transaction(all) : all
      return Effect.onExit(atomic, (exit) =>
        Effect.sync(() => {
          if (Exit.isSuccess(exit) || copy === undefined) return
          // A copy that failed on our side is cancelled (CopyFail); the connection is not reused.
          state.broken = true
          if (error === undefined) copy.destroy(new Error("copy abandoned by the client"))
        })
      )
    })
  }

  const session: Session = { query, copyIn, transaction }
  return session
}

/** Bulk copies to a parsed target, through a pool of `pg` connections closed with the scope. */
export const make = (
  target: Connection.Target,
  options: Options = {}
): Effect.Effect<BulkCopy["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    let pool: { readonly pool: Pool; readonly driver: Driver } | undefined
    let opening: Promise<{ readonly pool: Pool; readonly driver: Driver }> | undefined
    const open = () =>
      (opening ??= loadDriver().then((driver) => {
        const created = new driver.Pool({
          ...Connection.libpqOptions(target),
          application_name: options.applicationName ?? "delfos",
          max: options.maxConnections ?? 4,
          connectionTimeoutMillis: options.connectTimeoutMillis ?? 10_000
        })
        // An idle connection the server dropped is an event, not a crash; the pool replaces it.
        created.on("error", () => undefined)
        pool = { pool: created, driver }
        return pool
      }))
    yield* Effect.addFinalizer(() =>
      pool === undefined ? Effect.void : Effect.promise(() => pool!.pool.end().catch(() => undefined))
    )

    const session = Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const { driver, pool } = await open()
          const state: SessionState = { broken: false, depth: 0, copies: undefined }
          const client = await pool.connect()
          // A connection the server drops while it is checked out (pg_terminate_backend, a restart)
          // is an `error` event on the client: unheard, it would end the process. The statement that
          // was running fails on its own; the connection is discarded on release.
          const broken = () => {
            state.broken = true
          }
          client.on("error", broken)
          state.detach = () => client.off("error", broken)
          return { client, driver, state }
        },
        catch: (error) =>
          new BulkCopyError({
            operation: "connect",
            reason: `${target.display}: ${Connection.reasonOf(error) || "could not connect"}`
          })
      }),
      ({ client, state }) =>
        Effect.sync(() => {
          state.detach?.()
          client.release(state.broken || state.depth > 0)
        })
    ).pipe(Effect.map(({ client, driver, state }) => makeSession(client, driver, state)))

    return BulkCopy.of({ display: target.display, session })
  })

/** `BulkCopy` on the database at `url` (read as `Connection.parse` reads it), sessions in UTC. */
export const layer = (
  url: string | Redacted.Redacted<string>,
  options: Options = {}
): Layer.Layer<BulkCopy, Connection.InvalidDatabaseUrl> =>
  Layer.effect(
    BulkCopy,
    Effect.flatMap(Connection.target(url), (target) => make(target, options))
  )

/** One copy on a connection of its own, committed alone: `session` then `copyIn`. */
export const copyIn = <E = never, R = never>(
  table: string,
  rows: Batch | Stream.Stream<Batch, E, R>
): Effect.Effect<number, BulkCopyError | E, BulkCopy | R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const bulk = yield* BulkCopy
      const session = yield* bulk.session
      return yield* session.copyIn(table, rows)
    })
  )
