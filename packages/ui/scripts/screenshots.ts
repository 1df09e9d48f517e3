/**
 * Screenshots of the main views for the docs (docs/screenshots/*.png): a fonte seeded with a farm
 * (its own generator, with its planted faults), the farm loaded from that fonte into a fresh test
 * database (DATABASE_URL's server, else embedded) by the real pipeline (`HttpSource` → 10-minute
 * statistics + quality checks → Postgres sink and ledger), so every row the UI shows beside the
 * raw samples was computed from exactly those samples; then the states a clean load does not give
 * (an empty day, a failed run, a running one) recorded through the pipeline and the ledger, the UI
 * server, Chromium at 1280×800 and at a phone's 390 px. After `npm run build`:
 * `npm run screenshots -w @delfos/ui`.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Ledger, MemorySource, Partition, Pipeline, Runner } from "@delfos/etl"
import { Migrations, PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import { FonteClient, Server } from "@delfos/fonte"
import { Connection } from "@delfos/postgres"
import { TestDatabase } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"
import { chromium, type Page } from "playwright-core"
import * as Ui from "../src/Ui.ts"
import { type Farm, farm } from "../test/Seed.ts"

const out = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url))
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium"

export const browserArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync"
]

/**
 * Loads the farm's turbine-days from the fonte at `sourceUrl` into the target of the `SqlClient` in
 * context, a day's turbines a batch, under the UI tests' coverage policy (the fonte's downtimes
 * give degraded days, its stuck anemometers and curtailments quality findings). Then the states a
 * clean load does not give: the empty turbine-day run from a source without its samples, a failed
 * run and a running one recorded through the ledger.
 */
const load = (fleet: Farm, sourceUrl: string): Effect.Effect<void, unknown, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    yield* Migrations.migrate
    const options = { name: fleet.pipeline, quality: { minCoverage: 0.9 } }
    const special = [fleet.failed, fleet.running, fleet.empty].map((entry) => `${entry.day}|${entry.asset}`)
    const source = HttpSource.layer({ baseUrl: sourceUrl })
    for (let n = 0; n < fleet.days; n++) {
      const day = Partition.addDays(Partition.Day.make(fleet.from), n)
      const partitions = fleet.turbines
        .filter((asset) => !special.includes(`${day}|${asset}`))
        .map((asset) => Partition.makeUnsafe(day, "UTC", asset))
      yield* Pipeline.runBatchRecorded(partitions, options).pipe(Effect.provide(source))
    }
    // A day the source has no samples of: the pipeline reports it empty and writes nothing.
    yield* Pipeline.runBatchRecorded([Partition.makeUnsafe(fleet.empty.day, "UTC", fleet.empty.asset)], options).pipe(
      Effect.provide(MemorySource.layer([]))
    )
    const ledger = yield* Ledger.Ledger
    const [failed] = yield* ledger.start(
      fleet.pipeline,
      [Partition.makeUnsafe(fleet.failed.day, "UTC", fleet.failed.asset)],
      "worker-7:4242"
    )
    yield* ledger.fail([failed!], fleet.failed.error)
    // Still running: a heartbeat now (the UI judges staleness over a long `staleAfter`).
    yield* ledger.start(
      fleet.pipeline,
      [Partition.makeUnsafe(fleet.running.day, "UTC", fleet.running.asset)],
      "worker-7:4242"
    )
  }).pipe(
    Effect.provide(
      Layer.mergeAll(PostgresSink.layerFromClient(), RunLedger.layerFromClient, Runner.layer({ id: "shots:1" }))
    )
  )

const shoot = async (page: Page, name: string, fullPage = false) => {
  await page.screenshot({ path: join(out, `${name}.png`), fullPage })
  console.log(`docs/screenshots/${name}.png`)
}

const main = async () => {
  await mkdir(out, { recursive: true })
  const fleet = farm({ turbines: 10, days: 14 })
  const database = await TestDatabase.acquire()
  const fonte = await Server.createFonteServer({ port: 0 })
  const profile = await mkdtemp(join(tmpdir(), "delfos-ui-shots-"))
  let ui: Ui.UiServer | undefined
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined
  try {
    await FonteClient.populatePromise(fonte.url, {
      startDate: fleet.from,
      days: fleet.days,
      turbines: fleet.turbines.length
    })
    await Effect.runPromise(
      load(fleet, `${fonte.url}/api/v1`).pipe(
        Effect.provide(Connection.layer(database.url, { maxConnections: database.maxConnections })),
        Effect.scoped
      ) as Effect.Effect<void, unknown>
    )
    ui = await Ui.createUiServer({
      databaseUrl: database.url,
      maxConnections: database.maxConnections,
      staleAfter: 86_400_000,
      sourceUrl: `${fonte.url}/api/v1`,
      database: "the embedded database"
    })
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: browserArgs,
      viewport: { width: 1280, height: 800 }
    })
    const page = context.pages()[0] ?? (await context.newPage())
    // A fresh load per view: a hash change alone could leave the previous view's elements matching.
    const visit = async (route: string) => {
      await page.goto("about:blank")
      await page.goto(`${ui!.url}#/${route}`)
    }
    await visit(`?from=${fleet.from}&to=2024-03-15`)
    await page.waitForSelector("button.cell")
    await shoot(page, "grid")

    await page.click(`button.cell[data-state="failed"]`)
    await page.waitForSelector(".partition-view")
    await shoot(page, "partition")

    // The fonte's downtimes give the degraded days; the first of them on the grid.
    await visit(`?from=${fleet.from}&to=2024-03-15`)
    await page.click(`button.cell[data-state="degraded"]`)
    await page.waitForSelector(".partition-view[data-state='degraded']")
    await shoot(page, "partition-degraded")

    await visit(`series?turbine=WTG01,WTG05&signal=wind_speed&from=2024-03-01&to=2024-03-07`)
    await page.waitForSelector(".chart[data-rendered='true']")
    await shoot(page, "series")

    await visit(`series?turbine=WTG01&signal=power&from=2024-03-01&to=2024-03-01`)
    await page.waitForSelector(".chart[data-rendered='true']")
    const box = (await page.locator(".chart .u-over").boundingBox())!
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.5)
    await page.waitForSelector(".raw table.samples")
    // The whole page: the day's line above the window's rows and its raw samples.
    await shoot(page, "series-raw", true)

    await page.setViewportSize({ width: 390, height: 844 })
    await visit(`?from=2024-03-01&to=2024-03-15&turbine=WTG04`)
    await page.waitForSelector(".calendar button.cell")
    await shoot(page, "phone-calendar")
    // Nine days fit a phone's width: degraded days, quality marks, the running day and a missing one.
    await visit(`?from=2024-03-07&to=2024-03-15`)
    await page.waitForSelector(".matrix button.cell")
    await shoot(page, "phone-grid")
  } finally {
    await context?.close()
    await ui?.close()
    await fonte.close()
    await database.release()
    await rm(profile, { recursive: true, force: true })
  }
}

await main()
