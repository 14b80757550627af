/**
 * What the Mapping Studio in Odoo shows from the plant side, reported periodically:
 * - Sparkplug birth certificates (`report_bindings`): proposed machine ↔ work center bindings;
 * - shadow comparisons (`report_shadow`): counts since the last report and the latest difference
 *   per shadow version (additive, so several sidecars can report one mapping);
 * - recent samples (`report_samples`): the newest message of each topic seen since, and of each
 *   legacy connector's rows (with the connector, under the row's site).
 * Births are kept until Odoo has them; comparisons and samples are best effort (the next report
 * brings newer ones).
 */
import type { Birth } from "../contracts/sparkplug.js";
import type { OdooClient } from "../contracts/odoo-api.js";
import type { Logger } from "../logger.js";
import type { SampleRing } from "../pipeline/mapping/samples.js";
import type { ShadowLog } from "../pipeline/mapping/shadow.js";

export interface MappingReportsOptions {
  client: OdooClient;
  /** The site births are reported under (the sidecar's default site), and anything without one. */
  site: string;
  shadow: ShadowLog;
  samples: SampleRing;
  logger: Logger;
  /** @default 10000 */
  intervalMs?: number;
}

export interface MappingReports {
  /** Queues a birth certificate for Odoo (the newest per node or device wins). */
  birth(birth: Birth): void;
  /** Reports now (the timer calls it). */
  flush(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createMappingReports(options: MappingReportsOptions): MappingReports {
  const { client, logger } = options;
  const births = new Map<string, Birth>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function call(method: string, args: Record<string, unknown>): Promise<boolean> {
    try {
      await client.call("plant_bridge.api", method, args);
      return true;
    } catch (err) {
      logger.warn(
        { method, err: { message: (err as Error).message, code: (err as { code?: string }).code } },
        "could not report to Odoo (retried at the next report)",
      );
      return false;
    }
  }

  async function report(): Promise<void> {
    if (births.size > 0) {
      const batch = [...births.values()];
      births.clear();
      const ok = await call("report_bindings", {
        site: options.site,
        items: batch.map((b) => ({
          group: b.group,
          edge: b.edge,
          device: b.device,
          metrics: b.metrics,
          at: new Date(b.at).toISOString(),
        })),
      });
      if (!ok) for (const b of batch) if (!births.has(key(b))) births.set(key(b), b);
    }
    const shadow = options.shadow.takeReport();
    const bySite = new Map<string, typeof shadow>();
    for (const s of shadow) {
      // each comparison carries its mapping's site: message and legacy-row mappings alike
      const site = s.site ?? options.site;
      bySite.set(site, [...(bySite.get(site) ?? []), s]);
    }
    for (const [site, items] of bySite) {
      await call("report_shadow", {
        site,
        items: items.map((s) => ({
          mapping_id: s.mappingId,
          version: s.version,
          compared: s.compared,
          equal: s.equal,
          different: s.different,
          errors: s.errors,
          last_difference: s.lastDifference,
        })),
      });
    }
    // Legacy rows go to their own site and name their connector (the Mapping Studio lists a
    // connector's samples); the source of a row is `<file>:<line>`, `<table>:<key>`.
    const samplesBySite = new Map<string, Array<Record<string, unknown>>>();
    for (const s of options.samples.takeNew()) {
      const site = s.site ?? options.site;
      samplesBySite.set(site, [
        ...(samplesBySite.get(site) ?? []),
        {
          source: s.source ? s.topic.slice(s.source.length + 1) : s.topic,
          payload: s.encoding === "utf8" ? s.payload : `base64:${s.payload}`,
          at: s.at,
          ...(s.connectorId !== undefined && { connector_id: s.connectorId }),
        },
      ]);
    }
    for (const [site, samples] of samplesBySite) await call("report_samples", { site, samples });
  }

  const reports: MappingReports = {
    birth(b) {
      births.set(key(b), b);
    },
    flush() {
      running ??= report().finally(() => (running = undefined));
      return running;
    },
    start() {
      timer = setInterval(() => void reports.flush(), options.intervalMs ?? 10_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
  return reports;
}

function key(b: Birth): string {
  return `${b.group}/${b.edge}/${b.device ?? ""}`;
}
