/**
 * The page in a real browser (Chromium through playwright-core) over a seeded target: the grid's
 * cells and their states, a failed cell's error, keyboard use, the chart drawn with every window
 * the database holds, the raw samples of a window, a phone's width.
 */
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Server } from "@delfos/fonte"
import { Connection } from "@delfos/postgres"
import { TestDatabase } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Ui from "../src/Ui.ts"
import { expectedState, farm, seed } from "./Seed.ts"

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium"
const noBrowser = !existsSync(executablePath)
const skipReason = `no Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM)`
if (noBrowser) console.warn(`@delfos/ui browser tests skipped: ${skipReason}`)

const fleet = farm()
let database: TestDatabase.Handle | undefined
let fonte: Server.FonteServer | undefined
let ui: Ui.UiServer | undefined
let profile: string | undefined
let context: BrowserContext | undefined
let page: Page

beforeAll(async () => {
  if (noBrowser) return
  database = await TestDatabase.acquire()
  await Effect.runPromise(
    seed(fleet).pipe(
      Effect.provide(Connection.layer(database.url, { maxConnections: database.maxConnections })),
      Effect.scoped
    ) as Effect.Effect<void, unknown>
  )
  fonte = await Server.createFonteServer({ port: 0 })
  await fetch(`${fonte.url}/api/v1/sensors/populate_database`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ start_date: fleet.from, days: 1, turbines: 4 })
  })
  ui = await Ui.createUiServer({
    databaseUrl: database.url,
    maxConnections: database.maxConnections,
    staleAfter: 86_400_000,
    sourceUrl: `${fonte.url}/api/v1`
  })
  profile = await mkdtemp(join(tmpdir(), "delfos-ui-chromium-"))
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync"
    ],
    viewport: { width: 1280, height: 800 }
  })
  // Nothing but the UI's own origin: the page must not reach for a CDN.
  await context.route("**/*", (route) =>
    route.request().url().startsWith(ui!.url) ? route.continue() : route.abort("blockedbyclient")
  )
  page = context.pages()[0] ?? (await context.newPage())
}, 300_000)

afterAll(async () => {
  await context?.close().catch(() => undefined)
  await ui?.close()
  await fonte?.close()
  await database?.release()
  if (profile !== undefined) await rm(profile, { recursive: true, force: true })
}, 120_000)

const sql = <A extends object>(statement: string) => TestDatabase.query<A>(database!.url, statement)

/** A fresh load of a route (a hash change alone could leave the previous view's elements matching). */
const visit = async (route: string) => {
  await page.goto("about:blank")
  await page.goto(`${ui!.url}#/${route}`)
}

const openGrid = async (query = `from=${fleet.from}&to=2024-03-06`) => {
  await visit(`?${query}`)
  await page.waitForSelector("button.cell")
}

describe("the page in Chromium", () => {
  it.skipIf(noBrowser)("the grid: a cell per turbine and day, each in its state, with a legend", async () => {
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    await openGrid()
    const cells = await page.$$eval("button.cell", (buttons) =>
      buttons.map((button) => ({
        state: button.dataset.state!,
        day: button.dataset.day!,
        asset: button.dataset.asset!,
        glyph: button.querySelector(".glyph")?.textContent ?? "",
        label: button.getAttribute("aria-label") ?? ""
      }))
    )
    expect(cells).toHaveLength(6 * (fleet.turbines.length + 1))
    for (const cell of cells) {
      expect(cell.state, `${cell.asset} ${cell.day}`).toBe(expectedState(fleet, cell.asset, cell.day))
      // Not colour alone: a glyph and words.
      expect(cell.glyph).not.toBe("")
      expect(cell.label).toContain(cell.state)
    }
    const rows = await page.$$eval(".matrix-row:not(.header) .row-label", (labels) => labels.map((l) => l.textContent))
    expect(rows).toEqual(["default", ...fleet.turbines])
    const legend = await page.$$eval(".legend li[data-state]", (items) =>
      items.map((item) => [item.dataset.state, item.querySelector(".count")?.textContent])
    )
    expect(Object.fromEntries(legend)).toMatchObject({ failed: "1", degraded: "1", empty: "1", running: "1" })
    expect(errors).toEqual([])
  })

  it.skipIf(noBrowser)("a failed cell opens its partition with the run's error, as the ledger has it", async () => {
    await openGrid()
    await page.click(`button.cell[data-state="failed"]`)
    await page.waitForSelector(".partition-view")
    const [stored] = await sql<{ error: string }>(
      `SELECT error FROM etl_run WHERE partition_day = '${fleet.failed.day}' AND asset = '${fleet.failed.asset}'`
    )
    expect(await page.textContent(".partition-view .error")).toContain(stored!.error)
    expect(await page.textContent("#partition-title")).toContain(`${fleet.failed.asset} · ${fleet.failed.day}`)
  })

  it.skipIf(noBrowser)("keyboard: one tab stop into the grid, arrows move, Enter opens", async () => {
    await openGrid()
    const focusable = await page.$$eval("button.cell", (buttons) => buttons.filter((b) => b.tabIndex === 0).length)
    expect(focusable).toBe(1)
    await page.focus('button.cell[tabindex="0"]')
    const start = await page.evaluate(() => (document.activeElement as HTMLElement).dataset)
    await page.keyboard.press("ArrowRight")
    const next = await page.evaluate(() => ({ ...(document.activeElement as HTMLElement).dataset }))
    expect(next.asset).toBe(start.asset)
    expect(next.day).not.toBe(start.day)
    await page.keyboard.press("ArrowDown")
    const below = await page.evaluate(() => ({ ...(document.activeElement as HTMLElement).dataset }))
    expect(below.day).toBe(next.day)
    expect(below.asset).not.toBe(next.asset)
    await page.keyboard.press("Enter")
    await page.waitForSelector(".partition-view")
    expect(await page.textContent("#partition-title")).toContain(below.day!)
  })

  it.skipIf(noBrowser)("a degraded partition lists its quality checks", async () => {
    await visit(`partition/${fleet.degraded.day}/${fleet.degraded.asset}`)
    await page.waitForSelector(".partition-view[data-state='degraded']")
    const [stored] = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM quality WHERE partition_day = '${fleet.degraded.day}' AND asset = '${fleet.degraded.asset}'`
    )
    expect(await page.$$eval(".partition-view table.quality tbody tr", (rows) => rows.length)).toBe(stored!.n)
  })

  it.skipIf(noBrowser)("the series chart draws every window the target holds, turbines overlaid", async () => {
    await visit(`series?turbine=WTG01,WTG02&signal=power&from=${fleet.from}&to=2024-03-05`)
    await page.waitForSelector(".chart[data-rendered='true']")
    const [counted] = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM data d JOIN signal s ON s.id = d.signal_id JOIN asset a ON a.id = s.asset_id
       WHERE a.name IN ('WTG01', 'WTG02') AND s.name = 'power_mean'
         AND d.timestamp >= '2024-03-01T00:00:00Z' AND d.timestamp < '2024-03-06T00:00:00Z'`
    )
    expect(Number(await page.getAttribute(".chart", "data-points"))).toBe(counted!.n)
    // The canvas is not blank: pixels of more than one colour inside the plot.
    const colours = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>(".chart canvas")!
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height)
      const seen = new Set<string>()
      let painted = 0
      for (let i = 0; i < data.length; i += 4 * 7) {
        if (data[i + 3]! > 0) painted++
        seen.add(`${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`)
      }
      return { distinct: seen.size, painted }
    })
    expect(colours.distinct).toBeGreaterThan(10)
    expect(colours.painted).toBeGreaterThan(1000)
  })

  it.skipIf(noBrowser)("a window's raw samples from the fonte beside its aggregate", async () => {
    await visit(`series?turbine=WTG02&signal=wind_speed&from=${fleet.from}&to=${fleet.from}`)
    await page.waitForSelector(".chart[data-rendered='true']")
    // Keyboard: focus the chart, step to a window, Enter.
    await page.focus(".chart")
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight")
    await page.keyboard.press("Enter")
    await page.waitForSelector(".raw table.samples")
    const samples = Number(await page.getAttribute(".raw", "data-samples"))
    expect(samples).toBeGreaterThan(0)
    expect(samples).toBeLessThanOrEqual(10)
    expect(await page.textContent(".raw h2")).toContain("2024-03-01 00:50 UTC")
    expect(await page.textContent(".raw .aggregate")).toContain("target (10-minute row)")
  })

  it.skipIf(noBrowser)("a turbine-year: 52,560 windows served and drawn in a few seconds", async () => {
    // A year of 10-minute rows for one more asset, written straight in SQL (a pipeline run would take minutes).
    await sql(`INSERT INTO asset (name) VALUES ('YEAR1')`)
    await sql(`INSERT INTO signal (name, asset_id)
      SELECT 'wind_speed_' || s, (SELECT id FROM asset WHERE name = 'YEAR1') FROM unnest(ARRAY['mean', 'min', 'max', 'std']) AS s`)
    await sql(`INSERT INTO data (timestamp, signal_id, value)
      SELECT t, s.id, 8 + 3 * sin(extract(epoch FROM t) / 40000) + CASE s.name
        WHEN 'wind_speed_min' THEN -2 WHEN 'wind_speed_max' THEN 2 WHEN 'wind_speed_std' THEN 10 ELSE 0 END * 0.1
      FROM generate_series('2023-01-01T00:00:00Z'::timestamptz, '2023-12-31T23:50:00Z', '10 minutes') AS t,
        signal AS s JOIN asset AS a ON a.id = s.asset_id WHERE a.name = 'YEAR1'`)
    const asked = Date.now()
    const response = await fetch(`${ui!.url}api/series?turbine=YEAR1&signal=wind_speed&from=2023-01-01&to=2023-12-31`)
    const set = (await response.json()) as { series: Array<{ timestamps: Array<number> }> }
    const served = Date.now() - asked
    expect(set.series[0]!.timestamps).toHaveLength(52_560)
    const started = Date.now()
    await visit("series?turbine=YEAR1&signal=wind_speed&from=2023-01-01&to=2023-12-31")
    await page.waitForSelector(".chart[data-rendered='true']")
    const drawn = Date.now() - started
    expect(Number(await page.getAttribute(".chart", "data-points"))).toBe(52_560)
    // Moving the cursor over a year redraws at once: uPlot draws a year's paths once, then the cursor only.
    const box = (await page.locator(".chart .u-over").boundingBox())!
    const moved = Date.now()
    for (let i = 0; i < 20; i++) await page.mouse.move(box.x + (box.width * i) / 20, box.y + box.height / 2)
    const hover = Date.now() - moved
    console.log(`turbine-year: API ${served} ms, page drawn in ${drawn} ms, 20 cursor moves in ${hover} ms`)
    expect(drawn).toBeLessThan(20_000)
    expect(await page.textContent(".readout")).toMatch(/YEAR1: mean/)
  })

  it.skipIf(noBrowser)("at a phone's width: the page fits, the grid scrolls in its own box", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    try {
      await openGrid()
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth
      }))
      expect(widths.page).toBeLessThanOrEqual(widths.viewport)
      await openGrid(`from=${fleet.from}&to=2024-03-06&turbine=WTG04`)
      expect(await page.$$eval(".calendar button.cell", (cells) => cells.length)).toBe(6)
      const cell = (await page.locator(".calendar button.cell").first().boundingBox())!
      expect(cell.width).toBeGreaterThanOrEqual(24)
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 })
    }
  })
})
