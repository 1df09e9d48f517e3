/** Small DOM helpers: elements from tags, attributes and children; the hash route and its query. */

type Child = Node | string | null | undefined | false
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>

/** `h("button", { class: "cell", onclick }, "text")`: attributes as given, `on…` as listeners. */
export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: ReadonlyArray<Child | ReadonlyArray<Child>>
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    if (typeof value === "function") element.addEventListener(name.slice(2), value)
    else element.setAttribute(name, value === true ? "" : String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    element.append(child)
  }
  return element
}

export interface Route {
  /** `grid`, `partition` or `series`. */
  readonly view: string
  readonly path: ReadonlyArray<string>
  readonly query: URLSearchParams
}

/** `#/partition/2024-01-01/WTG01?pipeline=x` as a route. */
export const currentRoute = (): Route => {
  const hash = location.hash.replace(/^#\/?/, "")
  const [path = "", search = ""] = hash.split("?")
  const parts = path
    .split("/")
    .filter((part) => part !== "")
    .map(decodeURIComponent)
  return { view: parts[0] ?? "grid", path: parts.slice(1), query: new URLSearchParams(search) }
}

/** A hash link: `href("series", [], { turbine: "WTG01" })`. */
export const href = (
  view: string,
  path: ReadonlyArray<string> = [],
  query: Record<string, string | undefined> = {}
) => {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(key, value)
  const search = params.toString()
  return `#/${[view, ...path.map(encodeURIComponent)].join("/")}${search === "" ? "" : `?${search}`}`
}

export const number = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined
    ? "–"
    : value.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits })

export const duration = (ms: number | null): string =>
  ms === null ? "–" : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`

/** `2024-01-01T10:00:00.000Z` as `2024-01-01 10:00:00`. */
export const instant = (iso: string | null): string => (iso === null ? "–" : iso.slice(0, 19).replace("T", " "))

/** Days between two `YYYY-MM-DD`, as the API counts them. */
export const addDays = (day: string, n: number): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10)
