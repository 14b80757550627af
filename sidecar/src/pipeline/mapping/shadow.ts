/**
 * Shadow mode: a new version of a mapping runs on the same messages as the active one, and
 * what it would have posted is compared with what the active version posted, never posted
 * itself. Keeps counts per mapping version and the latest differences, bounded, for the API
 * and for Odoo (`report_shadow`). Messages (engine.ts) and legacy rows (jsonata-row-mapper.ts)
 * are compared the same way, through `compareShadow`.
 */
import { Counter, type Registry } from "prom-client";

export interface ShadowSide {
  version: number;
  events?: unknown[];
  error?: { code: string; message: string };
}

export interface ShadowComparison {
  at: string;
  topic: string;
  mappingId: number;
  mappingName: string;
  /** The mapping's site (its comparisons are reported to Odoo under it). */
  site?: string;
  /** What the active version produced (null: no active version runs). */
  active: ShadowSide | null;
  shadow: ShadowSide;
  equal: boolean;
  /** JSON paths where the two differ (at most 20). */
  differences: string[];
}

export interface ShadowStats {
  mappingId: number;
  site?: string;
  version: number;
  compared: number;
  equal: number;
  different: number;
  errors: number;
}

/** What one version produced from a message or a row: its events, or why it failed. */
export type Produced<E = unknown, C extends string = string> =
  { events: E[]; error?: undefined } | { events?: undefined; error: { code: C; message: string } };

export interface ShadowLog {
  record(
    comparison: Omit<ShadowComparison, "equal" | "differences" | "at"> & {
      /** The mapping's stable reference (`m12`), the label of the metric. */
      ref?: string;
    },
    at: number,
  ): ShadowComparison;
  /** Latest comparisons, newest first (only those of one mapping when given). */
  list(mappingId?: number, limit?: number): ShadowComparison[];
  stats(): ShadowStats[];
  /**
   * Counts since the last call, with the latest difference of each version: what the sidecar
   * reports to Odoo (additive, so several sidecars can report the same mapping).
   */
  takeReport(): Array<ShadowStats & { lastDifference: ShadowComparison | null }>;
}

export interface ShadowLogOptions {
  /** Comparisons kept per mapping. @default 20 */
  perMapping?: number;
  /** Registers `plant_bridge_mapping_shadow_total` here. */
  registry?: Registry;
}

export function createShadowLog(options: ShadowLogOptions = {}): ShadowLog {
  const keep = options.perMapping ?? 20;
  const counter = new Counter({
    name: "plant_bridge_mapping_shadow_total",
    help: "Shadow evaluations compared with the active version (equal, different, error).",
    labelNames: ["mapping", "result"],
    registers: options.registry ? [options.registry] : [],
  });
  const recent = new Map<number, ShadowComparison[]>();
  const totals = new Map<string, ShadowStats>();
  const unreported = new Map<string, ShadowStats & { lastDifference: ShadowComparison | null }>();

  function bump(map: Map<string, ShadowStats>, c: ShadowComparison): ShadowStats {
    const key = `${c.mappingId}@${c.shadow.version}`;
    let s = map.get(key);
    if (!s) {
      s = {
        mappingId: c.mappingId,
        ...(c.site !== undefined && { site: c.site }),
        version: c.shadow.version,
        compared: 0,
        equal: 0,
        different: 0,
        errors: 0,
      };
      map.set(key, s);
    }
    s.compared++;
    if (c.shadow.error) s.errors++;
    else if (c.equal) s.equal++;
    else s.different++;
    return s;
  }

  return {
    record({ ref, ...input }, at) {
      const differences: string[] = [];
      if (input.shadow.error || input.active?.error) {
        if (input.shadow.error?.message !== input.active?.error?.message)
          differences.push("$error");
      } else {
        diff(input.active?.events ?? [], input.shadow.events ?? [], "$", differences);
      }
      const c: ShadowComparison = {
        ...input,
        at: new Date(at).toISOString(),
        equal: differences.length === 0,
        differences,
      };
      const list = recent.get(c.mappingId) ?? [];
      list.unshift(c);
      list.length = Math.min(list.length, keep);
      recent.set(c.mappingId, list);
      bump(totals, c);
      const r = bump(unreported as Map<string, ShadowStats>, c) as ShadowStats & {
        lastDifference: ShadowComparison | null;
      };
      r.lastDifference ??= null;
      if (!c.equal) r.lastDifference = c;
      counter.inc({
        mapping: ref ?? `m${c.mappingId}`,
        result: c.shadow.error ? "error" : c.equal ? "equal" : "different",
      });
      return c;
    },
    list(mappingId, limit = 50) {
      const lists = mappingId === undefined ? [...recent.values()] : [recent.get(mappingId) ?? []];
      return lists
        .flat()
        .sort((a, b) => b.at.localeCompare(a.at))
        .slice(0, limit);
    },
    stats: () => [...totals.values()].map((s) => ({ ...s })),
    takeReport() {
      const out = [...unreported.values()];
      unreported.clear();
      return out;
    },
  };
}

/**
 * Records what a shadow version produced beside what the active version of its mapping (same
 * `ref`) produced from the same message or row; `active` undefined: no active version ran.
 */
export function compareShadow(
  log: ShadowLog,
  input: {
    topic: string;
    shadow: { ref: string; id: number; name: string; version: number; site?: string };
    produced: Produced;
    active?: { version: number; produced: Produced } | undefined;
  },
  at: number,
): ShadowComparison {
  const side = (version: number, p: Produced): ShadowSide => ({
    version,
    ...(p.error ? { error: p.error } : { events: p.events }),
  });
  return log.record(
    {
      ref: input.shadow.ref,
      topic: input.topic,
      mappingId: input.shadow.id,
      mappingName: input.shadow.name,
      ...(input.shadow.site !== undefined && { site: input.shadow.site }),
      active: input.active ? side(input.active.version, input.active.produced) : null,
      shadow: side(input.shadow.version, input.produced),
    },
    at,
  );
}

function diff(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length >= 20) return;
  if (Object.is(a, b)) return;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    out.push(path);
    return;
  }
  if (Array.isArray(a) !== Array.isArray(b)) {
    out.push(path);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) diff(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)]))
    diff(ao[k], bo[k], `${path}.${k}`, out);
}
