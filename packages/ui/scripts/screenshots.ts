/**
 * Screenshots of the main views for the docs (docs/screenshots/*.png): a farm seeded into a fresh
 * test database (DATABASE_URL's server, else embedded), a fonte for the raw samples, the UI
 * server, Chromium at 1280×800 and at a phone's 390 px. After `npm run build`:
 * `npm run screenshots -w @delfos/ui`.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Server } from "@delfos/fonte"
import { Connection } from "@delfos/postgres"
import { TestDatabase } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import { chromium, type Page } from "playwright-core"
import * as Ui from "../src/Ui.ts"
import { farm, seed } from "../test/Seed.ts"

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

const shoot = async (page: Page, name: string) => {
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: false })
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
    await fetch(`${fonte.url}/api/v1/sensors/populate_database`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ start_date: fleet.from, days: 1, turbines: 10 })
    })
    await Effect.runPromise(
      seed(fleet).pipe(
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

    await visit(`partition/2024-03-03/WTG02`)
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
    await page.locator(".raw").scrollIntoViewIfNeeded()
    await shoot(page, "series-raw")

    await page.setViewportSize({ width: 390, height: 844 })
    await visit(`?from=2024-03-01&to=2024-03-15&turbine=WTG04`)
    await page.waitForSelector(".calendar button.cell")
    await shoot(page, "phone-calendar")
    await visit(`?from=2024-03-01&to=2024-03-15`)
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
