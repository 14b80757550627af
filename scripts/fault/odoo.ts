/**
 * The Odoo side of the fault scenarios: a real Odoo 19 (test/helpers/odoo.ts: a database cloned
 * from the demo template with plant_bridge and a connector API key), the sequenced downtime events
 * the publishers send for it, and a checker that counts the business documents in Odoo itself:
 * one `mrp.workcenter.productivity` row per event (its description is the event id), so a missing
 * or doubled document is seen where it matters, not only in the sidecar's store.
 */
import type { OdooServer } from "../../test/helpers/odoo.js";

export const ODOO_SITE = "main";
const WORKCENTERS = ["Drill 1", "Assembly 1", "Assembly 2"];

/**
 * A downtime event of one minute slot per work center: sequence `seq` of a source gets its own
 * 30-second interval, so no two events of a run overlap (Odoo refuses overlapping downtime).
 * `baseDay` separates the sources of one run (`2026-01-01`, `2026-03-01`...).
 */
export function downtimePayload(baseDay: string) {
  const base = new Date(`${baseDay}T00:00:00Z`).getTime();
  return (id: string, seq: number): string => {
    const start = base + Math.floor(seq / WORKCENTERS.length) * 60_000;
    return JSON.stringify({
      id,
      type: "downtime",
      site: ODOO_SITE,
      occurredAt: new Date(start + 30_000).toISOString(),
      workcenter: WORKCENTERS[seq % WORKCENTERS.length],
      reason: "Equipment Failure",
      start: new Date(start).toISOString(),
      end: new Date(start + 30_000).toISOString(),
      description: id,
    });
  };
}

export interface OdooCheck {
  /** Distinct events expected in Odoo. */
  sent: number;
  /** Productivity rows of these events in Odoo. */
  documents: number;
  missing: number;
  /** Events with more than one document. */
  duplicated: number;
  /** Trace rows (`plant_bridge.message`) by state. */
  trace: Record<string, number>;
  /** Rejections in the trace, by error code. */
  rejected: Record<string, number>;
  missingSample: string[];
}

/** Productivity rows whose description starts with `<source>-` (one query, counted in Odoo). */
export async function countDocuments(odoo: OdooServer, source: string): Promise<number> {
  return odoo.admin<number>("mrp.workcenter.productivity", "search_count", {
    domain: [["description", "=like", `${source}-%`]],
  });
}

/** Counts, per expected id, its documents in Odoo and its trace row. */
export async function checkOdoo(
  odoo: OdooServer,
  sources: string[],
  expected: Set<string>,
): Promise<OdooCheck> {
  const docs = new Map<string, number>();
  const trace: Record<string, number> = {};
  const rejected: Record<string, number> = {};
  for (const source of sources) {
    const rows = await odoo.admin<Array<{ description: string | false }>>(
      "mrp.workcenter.productivity",
      "search_read",
      { domain: [["description", "=like", `${source}-%`]], fields: ["description"] },
    );
    for (const r of rows) {
      if (r.description) docs.set(r.description, (docs.get(r.description) ?? 0) + 1);
    }
    const messages = await odoo.admin<Array<{ state: string; error_code: string | false }>>(
      "plant_bridge.message",
      "search_read",
      { domain: [["key", "=like", `${source}-%`]], fields: ["state", "error_code"] },
    );
    for (const m of messages) {
      trace[m.state] = (trace[m.state] ?? 0) + 1;
      if (m.error_code) rejected[m.error_code] = (rejected[m.error_code] ?? 0) + 1;
    }
  }
  const missing = [...expected].filter((id) => !docs.has(id));
  let documents = 0;
  let duplicated = 0;
  for (const n of docs.values()) {
    documents += n;
    if (n > 1) duplicated++;
  }
  return {
    sent: expected.size,
    documents,
    missing: missing.length,
    duplicated,
    trace,
    rejected,
    missingSample: missing.slice(0, 20),
  };
}

/** When the documents of a source reached Odoo, in ms from the start of the wait. */
export interface DocumentTimes {
  firstMs: number;
  /** 10 % and 90 % of the target: the rate between them leaves out warm-up and tail. */
  p10Ms: number;
  p90Ms: number;
  allMs: number;
}

/**
 * Polls Odoo until `target` documents of `source` exist; resolves when the first, 10 %, 90 % and
 * all of them were there (ms from `from`), or undefined on timeout.
 */
export async function waitForDocuments(
  odoo: OdooServer,
  source: string,
  target: number,
  timeoutMs: number,
  from = Date.now(),
): Promise<DocumentTimes | undefined> {
  let firstMs: number | undefined;
  let p10Ms: number | undefined;
  let p90Ms: number | undefined;
  while (Date.now() - from < timeoutMs) {
    const n = await countDocuments(odoo, source).catch(() => -1);
    const at = Date.now() - from;
    if (n > 0) firstMs ??= at;
    if (n >= target * 0.1) p10Ms ??= at;
    if (n >= target * 0.9) p90Ms ??= at;
    if (n >= target) return { firstMs: firstMs!, p10Ms: p10Ms!, p90Ms: p90Ms!, allMs: at };
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

/** Documents per second between 10 % and 90 % of `target`. */
export function middleRate(times: DocumentTimes | undefined, target: number): number {
  if (!times) return 0;
  return (0.8 * target) / (Math.max(250, times.p90Ms - times.p10Ms) / 1000);
}
