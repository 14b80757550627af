import { maySite } from "../auth.js";
import { requireScope, siteFor } from "../access.js";
import { badInput, guarded } from "../errors.js";
import type { Resolvers, MachineState } from "../generated/graphql.js";
import type { LiveState } from "../live-state.js";
import type { OeeMinutes, WorkCenter } from "../model.js";
import type { OdooReader } from "../odoo-reader.js";
import { connection, decodeNumberCursor, decodeStringCursor, pageSize } from "../paging.js";

export interface ManufacturingResolversOptions {
  reader: OdooReader;
  live: LiveState;
  defaultSite: string;
}

const MAX_OEE_DAYS = 366;

/** Sites, work centers, production orders, lots, quality and maintenance: read from Odoo. */
export function createManufacturingResolvers(options: ManufacturingResolversOptions): Resolvers {
  const { reader, live, defaultSite } = options;

  /** The live state of a work center: the newer of this sidecar's last event and Odoo's record. */
  function liveStatus(wc: WorkCenter) {
    const event = live.machine(wc.site, [wc.key, wc.name, wc.code]);
    if (!event || (wc.statusAt && Date.parse(wc.statusAt) >= Date.parse(event.occurredAt)))
      return {
        status: wc.status,
        statusAt: wc.statusAt,
        statusSince: wc.statusSince,
        counters: wc.counters,
      };
    const changed = event.status !== wc.status;
    return {
      status: event.status as MachineState,
      statusAt: event.occurredAt,
      statusSince: changed ? event.occurredAt : wc.statusSince,
      counters: event.counters ?? wc.counters,
    };
  }

  return {
    Query: {
      sites: async (_, __, { principal }) => {
        const sites = await guarded(() => reader.sites());
        return sites.filter((s) => maySite(principal, s.code));
      },

      workCenters: async (_, args, { principal, loaders }) => {
        requireScope(principal, "read:workcenters");
        const f = args.filter ?? {};
        const site = siteFor(principal, f.site, defaultSite);
        const first = pageSize(args.first);
        let rows = await guarded(() => reader.workCenters(site));
        for (const wc of rows) loaders.workCenter.prime({ site, key: wc.key }, wc);
        if (f.keys) rows = rows.filter((w) => f.keys!.some((k) => k === w.key || k === w.name));
        if (f.status) rows = rows.filter((w) => liveStatus(w).status === f.status);
        if (args.after) {
          const after = decodeStringCursor(args.after);
          rows = rows.slice(rows.findIndex((w) => w.key === after) + 1);
        }
        return connection(rows.slice(0, first), rows.length > first, (w) => w.key);
      },

      workCenter: (_, args, { principal, loaders }) => {
        requireScope(principal, "read:workcenters");
        const site = siteFor(principal, args.site, defaultSite);
        return guarded(() => loaders.workCenter.load({ site, key: args.key }));
      },

      productionOrders: async (_, args, { principal, loaders }) => {
        requireScope(principal, "read:orders");
        const f = args.filter ?? {};
        const site = siteFor(principal, f.site, defaultSite);
        const first = pageSize(args.first, 200);
        const after = args.after ? decodeStringCursor(args.after) : undefined;
        const page = await guarded(() =>
          reader.orders(
            site,
            {
              states: f.states ?? null,
              product: f.product ?? null,
              names: f.names ?? null,
              workCenter: f.workCenter ?? null,
              startFrom: iso(f.startFrom),
              startTo: iso(f.startTo),
            },
            first,
            after,
          ),
        );
        for (const o of page.items) loaders.order.prime({ site, key: o.name }, o);
        return connection(page.items, page.hasMore, (o) => o.name);
      },

      productionOrder: (_, args, { principal, loaders }) => {
        requireScope(principal, "read:orders");
        const site = siteFor(principal, args.site, defaultSite);
        return guarded(() => loaders.order.load({ site, key: args.name }));
      },

      lot: (_, args, { principal, loaders }) => {
        requireScope(principal, "read:lots");
        const site = siteFor(principal, args.site, defaultSite);
        return guarded(() => loaders.lot.load({ site, key: args.name }));
      },

      qualityResults: async (_, args, { principal }) => {
        requireScope(principal, "read:quality");
        const f = args.filter ?? {};
        const site = siteFor(principal, f.site, defaultSite);
        const first = pageSize(args.first, 200);
        const after = args.after ? decodeNumberCursor(args.after) : undefined;
        const { site: _site, ...filter } = f;
        const page = await guarded(() => reader.qualityResults(site, filter, first, after));
        return connection(page.items, page.hasMore, (q) => Number(q.id));
      },

      complianceRecords: async (_, args, { principal }) => {
        requireScope(principal, "read:quality");
        const f = args.filter ?? {};
        const site = siteFor(principal, f.site, defaultSite);
        const first = pageSize(args.first, 200);
        const after = args.after ? decodeNumberCursor(args.after) : undefined;
        const { site: _site, ...filter } = f;
        const page = await guarded(() => reader.records(site, filter, first, after));
        return connection(page.items, page.hasMore, (r) => Number(r.id));
      },

      maintenanceRequests: async (_, args, { principal }) => {
        requireScope(principal, "read:maintenance");
        const f = args.filter ?? {};
        const site = siteFor(principal, f.site, defaultSite);
        const first = pageSize(args.first, 200);
        const after = args.after ? decodeNumberCursor(args.after) : undefined;
        const { site: _site, ...filter } = f;
        const page = await guarded(() => reader.maintenanceRequests(site, filter, first, after));
        return connection(page.items, page.hasMore, (m) => Number(m.id));
      },
    },

    WorkCenter: {
      status: (wc) => liveStatus(wc).status,
      statusAt: (wc) => liveStatus(wc).statusAt,
      statusSince: (wc) => liveStatus(wc).statusSince,
      counters: (wc) => liveStatus(wc).counters ?? null,
      oee: async (wc, args, { loaders }) => {
        const from = new Date(args.from);
        const to = new Date(args.to);
        if (!(to > from)) throw badInput("oee: `to` must be after `from`");
        if (to.getTime() - from.getTime() > MAX_OEE_DAYS * 86_400_000)
          throw badInput(`oee: a period of at most ${MAX_OEE_DAYS} days`);
        const row = await guarded(() =>
          loaders.oee.load({
            site: wc.site,
            key: wc.key,
            from: from.toISOString(),
            to: to.toISOString(),
          }),
        );
        return oeeOf(row, from, to);
      },
    },

    ProductionOrder: {
      components: async (o, _, { loaders }) =>
        (await guarded(() => loaders.orderDetails.load({ site: o.site, key: o.name })))
          ?.components ?? [],
      workOrders: async (o, _, { loaders }) =>
        (await guarded(() => loaders.orderDetails.load({ site: o.site, key: o.name })))
          ?.workOrders ?? [],
      finishedLots: async (o, _, { principal, loaders }) => {
        requireScope(principal, "read:lots");
        const details = await guarded(() =>
          loaders.orderDetails.load({ site: o.site, key: o.name }),
        );
        const names = details?.finishedLots ?? [];
        return present(
          await guarded(() =>
            loaders.lot.loadMany(names.map((key) => ({ site: o.site, key }))).then(rethrow),
          ),
        );
      },
      qualityResults: async (o, _, { principal, loaders }) => {
        requireScope(principal, "read:quality");
        return (
          (await guarded(() => loaders.orderDetails.load({ site: o.site, key: o.name })))
            ?.qualityResults ?? []
        );
      },
    },

    LotQuantity: {
      lot: (l, _, { principal, loaders }) => {
        requireScope(principal, "read:lots");
        return guarded(() => loaders.lot.load({ site: l.site, key: l.name }));
      },
    },

    WorkOrder: {
      workCenter: (w, _, { principal, loaders }) => {
        requireScope(principal, "read:workcenters");
        return guarded(() => loaders.workCenter.load({ site: w.site, key: w.workCenterKey }));
      },
    },

    Lot: {
      records: (l, _, { principal }) => {
        requireScope(principal, "read:quality");
        return l.records;
      },
      nonconformances: (l, _, { principal }) => {
        requireScope(principal, "read:quality");
        return l.nonconformances;
      },
      producedBy: async (l, _, { principal, loaders }) => {
        requireScope(principal, "read:orders");
        return present(
          await guarded(() =>
            loaders.order
              .loadMany(l.producedBy.map((key) => ({ site: l.site, key })))
              .then(rethrow),
          ),
        );
      },
    },

    LotComponent: {
      lot: (c, _, { loaders }) => guarded(() => loaders.lot.load({ site: c.site, key: c.lotName })),
    },

    LotUse: {
      order: (u, _, { principal, loaders }) => {
        if (u.kind !== "production") return null;
        requireScope(principal, "read:orders");
        return guarded(() => loaders.order.load({ site: u.site, key: u.reference }));
      },
      producedLots: async (u, _, { loaders }) =>
        present(
          await guarded(() =>
            loaders.lot
              .loadMany(u.producedLots.map((key) => ({ site: u.site, key })))
              .then(rethrow),
          ),
        ),
    },
  };
}

function iso(value: Date | string | null | undefined): string | null {
  if (value == null) return null;
  return (typeof value === "string" ? new Date(value) : value).toISOString();
}

function present<T>(values: Array<T | null>): T[] {
  return values.filter((v): v is T => v !== null);
}

/** DataLoader.loadMany answers errors in place: surface the first. */
function rethrow<T>(values: Array<T | Error>): T[] {
  const error = values.find((v): v is Error => v instanceof Error);
  if (error) throw error;
  return values as T[];
}

/**
 * The GraphQL `Oee` from Odoo's figures (the schema's `Oee` explains the terms): `oee` is Odoo's
 * own (productive / all closed time logs), split into availability × performance × quality by
 * loss category; `workOrderPerformance` is Odoo's work center Performance (expected / actual).
 */
export function oeeOf(row: OeeMinutes | null, from: Date, to: Date) {
  const m = row?.minutes ?? { productive: 0, performance: 0, quality: 0, availability: 0 };
  const logged = m.productive + m.performance + m.quality + m.availability;
  const running = logged - m.availability;
  const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : null);
  const wo = row?.work_orders ?? { expected: 0, actual: 0 };
  return {
    from,
    to,
    productiveMinutes: m.productive,
    performanceLossMinutes: m.performance,
    qualityLossMinutes: m.quality,
    availabilityLossMinutes: m.availability,
    productiveHours: row?.productive_time ?? 0,
    blockedHours: row?.blocked_time ?? 0,
    availability: ratio(running, logged),
    performance: ratio(running - m.performance, running),
    quality: ratio(m.productive, running - m.performance),
    oee: logged > 0 ? round((row?.oee ?? 0) / 100) : null,
    workOrderExpectedMinutes: wo.expected,
    workOrderMinutes: wo.actual,
    workOrderPerformance: ratio(wo.expected, wo.actual),
  };
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
