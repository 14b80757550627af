/**
 * Legacy connectors and schedules from a local JSON file (`PLANT_BRIDGE_LEGACY`), for a sidecar
 * without Odoo (the embedded default) or to try a pull before configuring it in Odoo. The same
 * shape as Odoo's `get_config` (docs/odoo-api.md); a schedule names its connector by id or name:
 *
 * ```json
 * {"timezone": "Europe/Berlin",
 *  "connectors": [{"id": 1, "name": "MES export", "kind": "file_drop",
 *                  "params": {"path": "/srv/mes/out", "pattern": "*.csv", "delimiter": ";"}}],
 *  "schedules": [{"id": 1, "name": "MES every minute", "connector": "MES export",
 *                 "cron": "* * * * *"}]}
 * ```
 * `site` (of a connector or schedule) defaults to the default site; ids default to positions.
 */
import type {
  ConnectorConfig,
  LegacySiteConfig,
  ScheduleConfig,
} from "../../contracts/site-config.js";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigValidationError } from "../../config.js";

const KINDS = [
  "file_drop",
  "sql_source",
  "http_source",
  "sink_file",
  "sink_sql",
  "sink_http",
  "sink_mqtt",
  "mqtt",
] as const;

const fileSchema = z
  .object({
    timezone: z.string().optional(),
    connectors: z
      .array(
        z
          .object({
            id: z.number().int().positive().optional(),
            name: z.string().min(1).max(200),
            site: z.string().min(1).max(64).optional(),
            kind: z.enum(KINDS),
            active: z.boolean().default(true),
            params: z.record(z.string(), z.unknown()).default({}),
            secrets: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .default([]),
    schedules: z
      .array(
        z
          .object({
            id: z.number().int().positive().optional(),
            name: z.string().min(1).max(200),
            site: z.string().min(1).max(64).optional(),
            connector: z.union([z.number().int().positive(), z.string().min(1)]),
            mapping: z.number().int().positive().optional(),
            cron: z.string().min(1),
            timezone: z.string().optional(),
            active: z.boolean().default(true),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** The file's connectors and schedules by site; throws `ConfigValidationError`. */
export function loadLegacyFile(path: string, defaultSite: string): Map<string, LegacySiteConfig> {
  const fail = (why: string) => new ConfigValidationError([`PLANT_BRIDGE_LEGACY: ${path}: ${why}`]);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw fail((err as NodeJS.ErrnoException).code ?? `not valid JSON (${(err as Error).message})`);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw fail(`${issue.path.join(".") || "file"}: ${issue.message}`);
  }
  const f = parsed.data;
  const sites = new Map<string, LegacySiteConfig>();
  const siteOf = (code: string) => {
    let s = sites.get(code);
    if (!s) {
      s = {
        site: code,
        timezone: f.timezone ?? "UTC",
        connectors: [],
        schedules: [],
        mappings: [],
      };
      sites.set(code, s);
    }
    return s;
  };
  const connectors = f.connectors.map((c, i) => ({
    ...c,
    id: c.id ?? i + 1,
    site: c.site ?? defaultSite,
  }));
  for (const c of connectors) {
    const config: ConnectorConfig = {
      id: c.id,
      name: c.name,
      kind: c.kind,
      active: c.active,
      params: c.params,
      secrets: c.secrets,
    };
    siteOf(c.site).connectors.push(config);
  }
  f.schedules.forEach((s, i) => {
    const site = s.site ?? defaultSite;
    const connector = connectors.find((c) =>
      typeof s.connector === "number" ? c.id === s.connector : c.name === s.connector,
    );
    if (!connector || connector.site !== site)
      throw fail(
        `schedules.${i}.connector: no connector ${JSON.stringify(s.connector)} on site ${site}`,
      );
    const config: ScheduleConfig = {
      id: s.id ?? i + 1,
      name: s.name,
      connector_id: connector.id,
      mapping_id: s.mapping ?? null,
      cron: s.cron,
      timezone: s.timezone ?? null,
      active: s.active,
    };
    siteOf(site).schedules.push(config);
  });
  return sites;
}
