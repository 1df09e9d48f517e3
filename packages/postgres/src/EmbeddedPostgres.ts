/**
 * An embedded Postgres: PGlite (Postgres compiled to WebAssembly) in this process, spoken to over
 * the Postgres wire protocol so that `@effect/sql-pg` uses it like a server. The zero-setup default
 * when no database URL is given (SPEC §5).
 *
 * PGlite is one backend: every connection shares one session. Connections therefore take turns
 * by exchange: a connection holds the database from its first message until the server says it is
 * idle again (`ReadyForQuery` outside a transaction), so statements and transactions of different
 * connections never interleave, and a transaction runs alone from `BEGIN` to `COMMIT`. The process
 * that opens a data directory hosts it and serves it to other processes on a Unix socket in it;
 * they queue in the same way (two `delfos-etl` commands on one `.delfos/` at once work).
 */
import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { mkdir, open as openFile, readFile, rm, unlink } from "node:fs/promises"
import { createServer, connect as netConnect, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { dirname, isAbsolute, join, resolve } from "node:path"
import { Duplex } from "node:stream"
import { fileURLToPath } from "node:url"
import { gunzipSync } from "node:zlib"
import { PgClient } from "@effect/sql-pg"
import type { PGlite } from "@electric-sql/pglite"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import { sessionParameters } from "./Connection.ts"
import * as Wire from "./Wire.ts"

/** The embedded database could not be opened or served. */
export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `embedded database: ${this.reason}`
  }
}

export interface Options {
  /** A directory to keep the database in; in memory (gone with the process) when absent. */
  readonly dataDir?: string | undefined
}

export interface EmbeddedPostgres {
  /** `the embedded database in .delfos/alvo` or `an in-memory embedded database`, for messages. */
  readonly description: string
  /** `host`: this process runs PGlite; `guest`: another process hosts the data directory. */
  readonly role: "host" | "guest"
  /** A new connection: a stream that speaks the Postgres protocol (`PgClient`'s `stream` option). */
  readonly connect: () => Duplex
  /**
   * Serves the database on a TCP port of 127.0.0.1 (0: a free one) for other processes, until the
   * scope closes; returns its URL, `postgres://postgres@127.0.0.1:<port>/postgres`.
   */
  readonly listen: (port?: number) => Effect.Effect<string, EmbeddedPostgresError, Scope.Scope>
}

/** One at a time, in the order asked. */
class Turns {
  private busy = false
  private readonly waiting: Array<() => void> = []
  take(): Promise<void> {
    if (!this.busy) {
      this.busy = true
      return Promise.resolve()
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }
  give(): void {
    const next = this.waiting.shift()
    if (next === undefined) this.busy = false
    else next()
  }
}

/**
 * One client connection to the in-process database: its bytes in, the server's answers out, its
 * turn taken at its first message and given back when the server is idle again.
 */
class Session {
  private readonly reader = new Wire.ClientReader()
  private readonly tracker = new Wire.ReadyTracker()
  private holding = false
  private closed = false
  private work: Promise<void> = Promise.resolve()
  private readonly db: PGlite
  private readonly turns: Turns
  private readonly send: (data: Uint8Array) => void
  private readonly end: () => void

  constructor(db: PGlite, turns: Turns, send: (data: Uint8Array) => void, end: () => void) {
    this.db = db
    this.turns = turns
    this.send = send
    this.end = end
  }

  /** Takes a chunk of the client's bytes; resolves once it has been answered (or queued for a turn). */
  feed(chunk: Uint8Array): Promise<void> {
    this.work = this.work.then(() => this.process(chunk)).catch((error: unknown) => this.fail(error))
    return this.work
  }

  /** The client went away: a transaction it left open is rolled back, its turn given back. */
  close(): Promise<void> {
    this.work = this.work.then(() => this.release(true))
    return this.work
  }

  private async process(chunk: Uint8Array): Promise<void> {
    for (const message of this.reader.push(chunk)) {
      if (this.closed) return
      if (message._tag === "Startup") {
        if (message.code === Wire.sslRequest || message.code === Wire.gssEncRequest) {
          // No TLS in process: "N" tells the client to go on in plain text.
          this.send(Uint8Array.of(0x4e))
        } else if (message.code === Wire.cancelRequest) {
          this.finish()
        } else {
          await this.execute(message.bytes)
        }
        continue
      }
      // PGlite aborts on `COPY … FROM STDIN`: such a statement is answered with an error instead.
      if (message.bytes.length > 0) await this.execute(Wire.refuseCopyFromStdin(message.bytes))
      if (message.terminate) {
        await this.release(true)
        this.finish()
      }
    }
  }

  private async execute(bytes: Uint8Array): Promise<void> {
    if (!this.holding) {
      await this.turns.take()
      this.holding = true
    }
    await this.db.runExclusive(() =>
      this.db.execProtocolRawStream(bytes, {
        onRawData: (data) => {
          this.tracker.push(data)
          // PGlite reuses its buffer: the client gets a copy.
          this.send(data.slice())
        }
      })
    )
    // The exchange is over and no transaction is open: the others may go.
    if (this.tracker.ready && this.tracker.status === Wire.idle) await this.release(false)
  }

  private async release(leaving: boolean): Promise<void> {
    if (leaving) this.closed = true
    if (!this.holding) return
    if (leaving) {
      // A client that left mid-exchange or mid-transaction must not leave the next one its state.
      await this.db.runExclusive(() => this.db.execProtocolRaw(Wire.sync)).catch(() => undefined)
      if (this.db.isInTransaction()) await this.db.exec("ROLLBACK").catch(() => undefined)
    }
    this.holding = false
    this.turns.give()
  }

  private async fail(error: unknown): Promise<void> {
    this.send(Wire.fatalError("XX000", `embedded database: ${error instanceof Error ? error.message : String(error)}`))
    await this.release(true)
    this.finish()
  }

  private finish(): void {
    this.closed = true
    this.end()
  }
}

/** A stream to a session of `db`: what `PgClient`'s `stream` option takes. */
const sessionStream = (db: PGlite, turns: Turns): Duplex => {
  const duplex: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      session.feed(chunk).then(() => callback(), callback)
    },
    final(callback) {
      session.close().then(() => callback(), callback)
    },
    destroy(error, callback) {
      session.close().then(
        () => callback(error),
        () => callback(error)
      )
    }
  })
  const session: Session = new Session(
    db,
    turns,
    (data) => duplex.push(data),
    () => duplex.push(null)
  )
  return duplex
}

/** Serves a session per socket, until the server closes. */
const serveSessions = (server: Server, db: PGlite, turns: Turns) => {
  const sockets = new Set<Socket>()
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.setNoDelay?.(true)
    const session = new Session(
      db,
      turns,
      (data) => {
        if (socket.writable) socket.write(data)
      },
      () => socket.end()
    )
    // Backpressure: no more reading until the chunk has been answered.
    socket.on("data", (chunk) => {
      socket.pause()
      session.feed(chunk).finally(() => socket.resume())
    })
    socket.on("close", () => {
      sockets.delete(socket)
      void session.close()
    })
    socket.on("error", () => socket.destroy())
  })
  return () => {
    for (const socket of sockets) socket.destroy()
  }
}

const listenOn = (server: Server, target: { port: number; host: string } | { path: string }) =>
  new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(target, () => {
      server.off("error", reject)
      resolve()
    })
  })

const closeServer = (server: Server, dropConnections: () => void) =>
  new Promise<void>((resolve) => {
    dropConnections()
    server.close(() => resolve())
  })

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The installed PGlite's version (its package.json is not among its exports: found beside its entry). */
export const pgliteVersion = (): string => {
  const entry = fileURLToPath(import.meta.resolve("@electric-sql/pglite"))
  return (JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as { version: string }).version
}

/**
 * A fresh database's files, made once at build time (`scripts/pglite-template.ts`): loading them
 * takes ~0.5 s where PGlite's own initdb takes ~2 s. Used only with the PGlite version it was made by.
 */
const template = async (): Promise<Blob | undefined> => {
  templateTar ??= (async () => {
    try {
      const file = fileURLToPath(import.meta.resolve("@delfos/postgres/pglite-template.tar.gz"))
      const made = JSON.parse(readFileSync(file.replace(/\.tar\.gz$/, ".json"), "utf8")) as { pglite?: string }
      if (made.pglite !== pgliteVersion()) return undefined
      // Unpacked here, once per process (the demo opens two databases), with Node's zlib: given the
      // .tar.gz, PGlite first tries it as a plain tar, then gunzips it through web streams (~200 ms).
      return gunzipSync(await readFile(file))
    } catch {
      return undefined
    }
  })()
  const tar = await templateTar
  return tar === undefined ? undefined : new Blob([tar], { type: "application/x-tar" })
}

let templateTar: Promise<Uint8Array | undefined> | undefined

const createDatabase = async (dataDir: string | undefined): Promise<PGlite> => {
  // Loaded on demand: PGlite is only needed when no database URL is given.
  const { PGlite } = await import("@electric-sql/pglite")
  const fresh = dataDir === undefined || !existsSync(join(dataDir, "PG_VERSION"))
  const loadDataDir = fresh ? await template() : undefined
  return PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(loadDataDir === undefined ? {} : { loadDataDir })
  })
}

/** Where a data directory's host listens: a socket in the directory, or in the temp dir if that path is too long. */
const socketPathOf = (dataDir: string): string => {
  const inDir = join(dataDir, ".s.delfos")
  // Unix socket paths are limited to ~104 bytes.
  if (Buffer.byteLength(inDir) < 100) return inDir
  return join(tmpdir(), `delfos-${createHash("sha256").update(dataDir).digest("hex").slice(0, 16)}.sock`)
}

interface Lock {
  readonly pid: number
  readonly socket: string
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readLock = async (path: string): Promise<Lock | undefined> => {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Lock
  } catch {
    return undefined
  }
}

const canConnect = (path: string) =>
  new Promise<boolean>((resolve) => {
    const socket = netConnect({ path })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

type Claim =
  | { readonly _tag: "Host"; readonly release: () => Promise<void> }
  | { readonly _tag: "Guest"; readonly socket: string }

/**
 * Becomes the host of a data directory (a lock file with this pid), or finds the live host to be a
 * guest of. A lock left by a dead process is taken over.
 */
const claim = async (dataDir: string, socket: string): Promise<Claim> => {
  const lockPath = join(dataDir, "delfos.lock")
  const deadline = Date.now() + 30_000
  while (true) {
    try {
      const handle = await openFile(lockPath, "wx")
      await handle.writeFile(JSON.stringify({ pid: process.pid, socket } satisfies Lock))
      await handle.close()
      return { _tag: "Host", release: () => unlink(lockPath).catch(() => undefined) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const lock = await readLock(lockPath)
    if (lock !== undefined && lock.pid !== process.pid && isAlive(lock.pid)) {
      // The host may still be opening the database: its socket answers once it is ready.
      if (await canConnect(lock.socket)) return { _tag: "Guest", socket: lock.socket }
      if (Date.now() > deadline) {
        throw new Error(`process ${lock.pid} holds ${dataDir} but does not answer on ${lock.socket}`)
      }
      await sleep(100)
      continue
    }
    if (lock === undefined && Date.now() < deadline) {
      // Being written right now, or garbage: look again shortly, then take it over.
      await sleep(50)
      const again = await readLock(lockPath)
      if (again === undefined) await rm(lockPath, { force: true })
      continue
    }
    // Its process is gone: the directory is free.
    await rm(lockPath, { force: true })
  }
}

/** The database, hosted here or by the process that holds the data directory; closed with the scope. */
export const make = (options: Options = {}): Effect.Effect<EmbeddedPostgres, EmbeddedPostgresError, Scope.Scope> =>
  Effect.gen(function* () {
    const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir)
    const description =
      options.dataDir === undefined
        ? "an in-memory embedded database"
        : `the embedded database in ${isAbsolute(options.dataDir) ? options.dataDir : options.dataDir.replace(/\/+$/, "")}`
    const failed = (what: string) => (error: unknown) =>
      new EmbeddedPostgresError({ reason: `${what}: ${reason(error)}` })

    const socket = dataDir === undefined ? undefined : socketPathOf(dataDir)
    const role =
      dataDir === undefined || socket === undefined
        ? undefined
        : yield* Effect.acquireRelease(
            Effect.tryPromise({
              try: async () => {
                await mkdir(dataDir, { recursive: true })
                return claim(dataDir, socket)
              },
              catch: failed(`could not open ${description.replace(/^the /, "")}`)
            }),
            (claimed) => (claimed._tag === "Host" ? Effect.promise(claimed.release) : Effect.void)
          )

    const listenFor =
      (server: Server, db: PGlite, turns: Turns) =>
      (port = 0) =>
        Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              const drop = serveSessions(server, db, turns)
              await listenOn(server, { port, host: "127.0.0.1" })
              return drop
            },
            catch: failed("could not listen")
          }),
          (drop) => Effect.promise(() => closeServer(server, drop))
        ).pipe(
          Effect.map(() => {
            const address = server.address()
            const bound = typeof address === "object" && address !== null ? address.port : port
            return `postgres://postgres@127.0.0.1:${bound}/postgres`
          })
        )

    if (role?._tag === "Guest") {
      const path = role.socket
      return {
        description,
        role: "guest",
        connect: () => netConnect({ path }),
        listen: () =>
          Effect.fail(
            new EmbeddedPostgresError({ reason: `another process hosts ${description.replace(/^the /, "")}` })
          )
      } satisfies EmbeddedPostgres
    }

    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => createDatabase(dataDir), catch: failed("PGlite did not start") }),
      (db) => Effect.promise(() => db.close().catch(() => undefined))
    )
    const turns = new Turns()
    if (socket !== undefined) {
      // Other processes on the same data directory come in through this socket.
      yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            await rm(socket, { force: true })
            const server = createServer()
            const drop = serveSessions(server, db, turns)
            await listenOn(server, { path: socket })
            return { server, drop }
          },
          catch: failed(`could not serve on ${socket}`)
        }),
        ({ drop, server }) => Effect.promise(() => closeServer(server, drop).then(() => rm(socket, { force: true })))
      )
    }
    return {
      description,
      role: "host",
      connect: () => sessionStream(db, turns),
      listen: (port?: number) => listenFor(createServer(), db, turns)(port)
    } satisfies EmbeddedPostgres
  })

/**
 * The `PgClient` settings for an embedded database: its connections, sessions in UTC. One
 * connection is enough (PGlite runs one statement at a time) and keeps this process's own work in
 * order; more would only queue at the database.
 */
export const clientConfig = (embedded: EmbeddedPostgres): PgClient.PgPoolConfig => ({
  stream: embedded.connect,
  username: "postgres",
  database: "postgres",
  applicationName: "delfos",
  startupParameters: sessionParameters,
  maxConnections: 1,
  connectTimeout: "60 seconds"
})

/** `PgClient` and `SqlClient` on an embedded database opened (and closed) with the layer. */
export const layerClient = (
  options: Options = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, EmbeddedPostgresError | SqlError.SqlError> =>
  PgClient.layerFrom(Effect.flatMap(make(options), (embedded) => PgClient.make(clientConfig(embedded))))
