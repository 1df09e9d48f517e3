// Says once, before the tests, which database the integration tests use: a run does what its
// environment says (DATABASE_URL, else Docker, else the embedded database), never a server that
// merely happens to answer on 127.0.0.1:5432.
import { Connection } from "@delfos/postgres"
import { TestDatabase } from "@delfos/test-utils"

export default function setup() {
  const kind = TestDatabase.plannedKind()
  const where =
    kind === "postgres"
      ? `Postgres at ${Connection.describe(process.env.DATABASE_URL ?? "")} (DATABASE_URL)`
      : kind === "testcontainers"
        ? "a Postgres container per test file (Testcontainers; no DATABASE_URL)"
        : "the embedded database, PGlite (no DATABASE_URL, no Docker)"
  process.stdout.write(`integration tests use ${where}\n`)
}
