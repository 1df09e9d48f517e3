/**
 * The Postgres wire protocol as far as an embedded database needs it: cutting a client's bytes into
 * messages, and following the server's answer to its `ReadyForQuery`, whose status byte says whether
 * the session is idle (`I`), in a transaction (`T`) or in a failed one (`E`).
 */

/** `SSLRequest`, `GSSENCRequest` and `CancelRequest` codes, sent in place of a startup message. */
export const sslRequest = 80_877_103
export const gssEncRequest = 80_877_104
export const cancelRequest = 80_877_102

/** The type byte of `Terminate`. */
export const terminate = 0x58

/** What a client sent, cut at message boundaries. */
export type ClientMessages =
  /** A message of the startup phase (no type byte): startup, SSL or GSS request, cancel. */
  | { readonly _tag: "Startup"; readonly code: number; readonly bytes: Uint8Array }
  /** Whole regular messages, in order (maybe none); `terminate` when `Terminate` came after them. */
  | { readonly _tag: "Messages"; readonly bytes: Uint8Array; readonly terminate: boolean }

/** Cuts a client's byte stream into messages; `push` returns what is complete so far. */
export class ClientReader {
  private buffer: Uint8Array = new Uint8Array(0)
  private startup = true

  push(chunk: Uint8Array): Array<ClientMessages> {
    this.buffer = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk)
    const out: Array<ClientMessages> = []
    while (this.buffer.length > 0) {
      if (this.startup) {
        if (this.buffer.length < 8) break
        const length = readInt32(this.buffer, 0)
        if (this.buffer.length < length) break
        const code = readInt32(this.buffer, 4)
        out.push({ _tag: "Startup", code, bytes: this.buffer.slice(0, length) })
        this.buffer = this.buffer.subarray(length)
        // Only a real startup message ends the startup phase: SSL and GSS requests come before it.
        if (code !== sslRequest && code !== gssEncRequest) this.startup = false
        continue
      }
      let at = 0
      let ended = false
      while (this.buffer.length - at >= 5) {
        const length = 1 + readInt32(this.buffer, at + 1)
        if (this.buffer.length - at < length) break
        // Terminate is the client's goodbye: it is not passed on, the session ends after the rest.
        if (this.buffer[at] === terminate) {
          ended = true
          break
        }
        at += length
      }
      if (at === 0 && !ended) break
      out.push({ _tag: "Messages", bytes: this.buffer.slice(0, at), terminate: ended })
      this.buffer = this.buffer.subarray(at)
      if (ended) {
        this.buffer = new Uint8Array(0)
        break
      }
    }
    return out
  }
}

/**
 * Follows a server's answer across the pieces it comes in, message by message, and remembers the
 * last message received whole: a `ReadyForQuery` there means the exchange is over, and its status
 * says whether the session is idle (`I`), in a transaction (`T`) or in a failed one (`E`).
 */
export class ReadyTracker {
  private readonly header = new Uint8Array(5)
  private headerLength = 0
  private remaining = 0
  private type = 0
  /** The type byte of the last message received whole; 0 before any. */
  lastType = 0
  /** The status byte of the last `ReadyForQuery` received whole; 0 before any. */
  status = 0

  /** Whether the answer so far ends with a whole `ReadyForQuery`. */
  get ready(): boolean {
    return this.lastType === readyForQuery && this.headerLength === 0 && this.remaining === 0
  }

  push(data: Uint8Array): void {
    let i = 0
    while (i < data.length) {
      if (this.remaining === 0) {
        this.header[this.headerLength++] = data[i++]!
        if (this.headerLength === 5) {
          this.headerLength = 0
          this.type = this.header[0]!
          this.remaining = readInt32(this.header, 1) - 4
          if (this.remaining === 0) this.lastType = this.type
        }
        continue
      }
      const n = Math.min(this.remaining, data.length - i)
      // A ReadyForQuery's body is one byte, its status.
      if (this.type === readyForQuery) this.status = data[i]!
      i += n
      this.remaining -= n
      if (this.remaining === 0) this.lastType = this.type
    }
  }
}

/** The type byte of `ReadyForQuery`, and its statuses. */
export const readyForQuery = 0x5a
export const idle = 0x49

/** `Sync`: ends an extended-protocol exchange, and any error state it left. */
export const sync = Uint8Array.of(0x53, 0, 0, 0, 4)

/** The type bytes of the simple `Query` and of the extended protocol's `Parse`. */
const query = 0x51
const parse = 0x50

const decoder = new TextDecoder()
const encoder = new TextEncoder()

const copyFromStdin = /\bcopy\b[\s\S]*\bfrom\s+stdin\b/i

/** What the embedded database runs instead of a `COPY … FROM STDIN`: a statement that fails with SQLSTATE 0A000. */
export const copyFromStdinRefusal =
  "DO $delfos$BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', MESSAGE = " +
  "'COPY FROM STDIN is not supported by the embedded database (PGlite): insert from unnest(...) instead'; END$delfos$"

const cString = (bytes: Uint8Array, from: number, to: number): number => {
  let end = from
  while (end < to && bytes[end] !== 0) end++
  return end
}

const message = (type: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(5 + body.length)
  out[0] = type
  writeInt32(out, 1, 4 + body.length)
  out.set(body, 5)
  return out
}

/**
 * The client's messages with every `COPY … FROM STDIN` (in a `Query` or a `Parse`) replaced by a
 * statement that fails with SQLSTATE 0A000: PGlite has no COPY-in over the wire protocol, and a
 * `COPY … FROM STDIN` aborts the WebAssembly backend, and with it the process that hosts it. The
 * same bytes when there is none.
 */
export const refuseCopyFromStdin = (bytes: Uint8Array): Uint8Array => {
  let replaced: Array<Uint8Array> | undefined
  let kept = 0
  for (let at = 0; at + 5 <= bytes.length; ) {
    const type = bytes[at]!
    const end = Math.min(bytes.length, at + 1 + readInt32(bytes, at + 1))
    if (type === query || type === parse) {
      // A Parse names its statement first, then holds the SQL; a Query holds only the SQL.
      const sqlStart = type === parse ? cString(bytes, at + 5, end) + 1 : at + 5
      const sqlEnd = cString(bytes, sqlStart, end)
      if (copyFromStdin.test(decoder.decode(bytes.subarray(sqlStart, sqlEnd)))) {
        const sql = encoder.encode(copyFromStdinRefusal)
        let body: Uint8Array
        if (type === query) {
          body = new Uint8Array(sql.length + 1)
          body.set(sql, 0)
        } else {
          // The statement's name, the new SQL, and no parameter types.
          const name = bytes.subarray(at + 5, sqlStart)
          body = new Uint8Array(name.length + sql.length + 3)
          body.set(name, 0)
          body.set(sql, name.length)
        }
        replaced ??= []
        replaced.push(bytes.subarray(kept, at), message(type, body))
        kept = end
      }
    }
    at = end
  }
  if (replaced === undefined) return bytes
  replaced.push(bytes.subarray(kept))
  const out = new Uint8Array(replaced.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of replaced) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** An `ErrorResponse` with severity FATAL, for a client the embedded server must turn away. */
export const fatalError = (code: string, message: string): Uint8Array => {
  const fields = [`SFATAL`, `VFATAL`, `C${code}`, `M${message}`]
  const body = new TextEncoder().encode(`${fields.join("\0")}\0\0`)
  const out = new Uint8Array(5 + body.length)
  out[0] = 0x45
  writeInt32(out, 1, 4 + body.length)
  out.set(body, 5)
  return out
}

const readInt32 = (bytes: Uint8Array, at: number): number =>
  ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0

const writeInt32 = (bytes: Uint8Array, at: number, value: number) => {
  bytes[at] = (value >>> 24) & 0xff
  bytes[at + 1] = (value >>> 16) & 0xff
  bytes[at + 2] = (value >>> 8) & 0xff
  bytes[at + 3] = value & 0xff
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
