import type { OdooClient } from "../contracts/odoo-api.js";
import { ConfigError } from "../errors.js";
import type {
  ComplianceRecord,
  Component,
  Downtime,
  Lot,
  MaintenanceRequest,
  Nonconformance,
  OeeMinutes,
  OrderDetails,
  ProductionOrder,
  Product,
  QualityResult,
  Site,
  WorkCenter,
  WorkOrder,
} from "./model.js";
import { canonicalName } from "./names.js";
import { TtlCache } from "./ttl-cache.js";

export interface OdooReaderOptions {
  /** The connector's Odoo client; undefined when Odoo is not configured (reads fail CONFIG_ERROR). */
  client: Pick<OdooClient, "call"> | undefined;
  /** How long an answer of Odoo is reused, across requests. @default 5000 */
  ttlMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

export interface OrderFilter {
  states?: string[] | null;
  product?: string | null;
  names?: string[] | null;
  workCenter?: string | null;
  startFrom?: string | null;
  startTo?: string | null;
}

/**
 * Reads the canonical manufacturing model from Odoo (`plant_bridge.api.read_*`, docs/odoo-api.md)
 * as the connector. Keyed reads (`…ByKey`) take many keys and make one call for those not cached;
 * every answer is cached for a few seconds, so a dashboard polling every second costs Odoo one call
 * per TTL, not one per client.
 */
export interface OdooReader {
  sites(): Promise<Site[]>;
  orders(
    site: string,
    filter: OrderFilter,
    limit: number,
    after?: string,
  ): Promise<Page<ProductionOrder>>;
  ordersByName(site: string, names: readonly string[]): Promise<Map<string, ProductionOrder>>;
  orderDetailsByName(site: string, names: readonly string[]): Promise<Map<string, OrderDetails>>;
  workCenters(site: string): Promise<WorkCenter[]>;
  workCentersByKey(site: string, keys: readonly string[]): Promise<Map<string, WorkCenter>>;
  lotsByName(site: string, names: readonly string[]): Promise<Map<string, Lot>>;
  oee(
    site: string,
    keys: readonly string[],
    from: string,
    to: string,
  ): Promise<Map<string, OeeMinutes>>;
  qualityResults(
    site: string,
    filter: Record<string, unknown>,
    limit: number,
    after?: number,
  ): Promise<Page<QualityResult>>;
  maintenanceRequests(
    site: string,
    filter: Record<string, unknown>,
    limit: number,
    after?: number,
  ): Promise<Page<MaintenanceRequest>>;
  records(
    site: string,
    filter: Record<string, unknown>,
    limit: number,
    after?: number,
  ): Promise<Page<ComplianceRecord>>;
}

export function createOdooReader(options: OdooReaderOptions): OdooReader {
  const cache = new TtlCache<unknown>({
    ttlMs: options.ttlMs ?? 5000,
    ...(options.now && { now: options.now }),
  });

  function call<T>(method: string, kwargs: Record<string, unknown>): Promise<T> {
    if (!options.client)
      return Promise.reject(
        new ConfigError("odoo_offline", "Odoo is not configured on this sidecar"),
      );
    return options.client.call<T>("plant_bridge.api", method, kwargs);
  }

  /** One cached call per distinct argument set. */
  function cached<T>(method: string, kwargs: Record<string, unknown>): Promise<T> {
    return cache.getOrLoad(`${method}\u0000${JSON.stringify(kwargs)}`, () =>
      call<T>(method, kwargs),
    ) as Promise<T>;
  }

  /**
   * Per-key cache over a batch method: keys not cached are fetched in one call, and each key's
   * entry is set before the call returns, so concurrent requests for it share that call.
   */
  async function byKey<T>(
    method: string,
    site: string,
    keys: readonly string[],
    fetch: (missing: string[]) => Promise<Map<string, T>>,
  ): Promise<Map<string, T>> {
    const slot = (k: string) => `${method}\u0000${site}\u0000${k}`;
    const wanted = [...new Set(keys)];
    const values = new Map<string, Promise<T | undefined>>();
    const missing: string[] = [];
    for (const k of wanted) {
      const hit = cache.get(slot(k)) as Promise<T | undefined> | undefined;
      if (hit) values.set(k, hit);
      else missing.push(k);
    }
    if (missing.length) {
      const batch = fetch(missing);
      for (const k of missing) {
        const value = batch.then((m) => m.get(k));
        values.set(k, value);
        cache.set(slot(k), value);
      }
    }
    const result = new Map<string, T>();
    for (const [k, value] of values) {
      const v = await value;
      if (v !== undefined) result.set(k, v);
    }
    return result;
  }

  return {
    async sites() {
      return cached<Site[]>("read_sites", {});
    },

    async orders(site, filter, limit, after) {
      const answer = await cached<{ orders: OdooOrder[]; has_more: boolean }>("read_orders", {
        site,
        filter: odooFilter(filter),
        limit,
        ...(after !== undefined && { after }),
      });
      return { items: answer.orders.map((o) => orderOf(site, o)), hasMore: answer.has_more };
    },

    ordersByName(site, names) {
      return byKey("read_orders", site, names, async (missing) => {
        const answer = await call<{ orders: OdooOrder[] }>("read_orders", {
          site,
          filter: { names: missing },
          limit: Math.min(Math.max(missing.length, 1), 500),
        });
        // asked by its name or by the key it was released with (Odoo renames for backorders)
        const found = new Map<string, ProductionOrder>();
        for (const o of answer.orders) {
          const order = orderOf(site, o);
          if (!found.has(order.orderKey)) found.set(order.orderKey, order);
          found.set(o.name, order);
        }
        return found;
      });
    },

    orderDetailsByName(site, names) {
      return byKey("read_order_details", site, names, async (missing) => {
        const rows = await call<OdooOrderDetails[]>("read_order_details", { site, names: missing });
        return new Map(rows.map((d) => [d.name, detailsOf(site, d)]));
      });
    },

    async workCenters(site) {
      const rows = await cached<OdooWorkCenter[]>("read_workcenters", { site });
      return rows.map((w) => workCenterOf(site, w));
    },

    workCentersByKey(site, keys) {
      return byKey("read_workcenters", site, keys, async (missing) => {
        const rows = await call<OdooWorkCenter[]>("read_workcenters", { site, names: missing });
        const found = new Map<string, WorkCenter>();
        for (const row of rows) {
          const wc = workCenterOf(site, row);
          // asked by code or by exact name: answer under both
          for (const k of [row.key, row.name, row.code])
            if (k && missing.includes(k)) found.set(k, wc);
        }
        return found;
      });
    },

    lotsByName(site, names) {
      return byKey("read_lots", site, names, async (missing) => {
        const rows = await call<OdooLot[]>("read_lots", { site, names: missing });
        const found = new Map<string, Lot>();
        // a lot name may exist for several products: the first (by name, id) answers
        for (const row of rows) if (!found.has(row.name)) found.set(row.name, lotOf(site, row));
        return found;
      });
    },

    oee(site, keys, from, to) {
      return byKey(`read_oee\u0000${from}\u0000${to}`, site, keys, async (missing) => {
        const rows = await call<OeeMinutes[]>("read_oee", {
          site,
          names: missing,
          date_from: from,
          date_to: to,
        });
        return new Map(rows.map((r) => [r.key, r]));
      });
    },

    async qualityResults(site, filter, limit, after) {
      const answer = await cached<{ items: OdooQuality[]; has_more: boolean }>(
        "read_quality_results",
        { site, filter: odooFilter(filter), limit, ...(after !== undefined && { after }) },
      );
      return { items: answer.items.map(qualityOf), hasMore: answer.has_more };
    },

    async records(site, filter, limit, after) {
      const answer = await cached<{ items: OdooRecord[]; has_more: boolean }>("read_records", {
        site,
        filter: odooFilter(filter),
        limit,
        ...(after !== undefined && { after }),
      });
      return { items: answer.items.map(recordOf), hasMore: answer.has_more };
    },

    async maintenanceRequests(site, filter, limit, after) {
      const answer = await cached<{ items: OdooMaintenance[]; has_more: boolean }>(
        "read_maintenance_requests",
        { site, filter: odooFilter(filter), limit, ...(after !== undefined && { after }) },
      );
      return {
        items: answer.items.map((m) => ({
          id: String(m.id),
          name: m.name,
          kind: m.kind,
          stage: m.stage,
          done: m.done,
          workCenter: m.workcenter,
          equipment: m.equipment,
          requestedAt: m.requested_at,
          scheduledAt: m.scheduled_at,
          description: m.description,
        })),
        hasMore: answer.has_more,
      };
    },
  };
}

/**
 * A GraphQL filter as `plant_bridge.api.read_*` takes it: null / undefined members (GraphQL's
 * "not given") dropped, and `workCenter` spelled `workcenter` as in docs/odoo-api.md (Odoo
 * refuses unknown filter fields).
 */
function odooFilter(filter: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(filter)
      .filter(([, v]) => v != null)
      .map(([k, v]) => [canonicalName(k), v]),
  );
}

// ---------------------------------------------------------------------------- Odoo's shapes
interface OdooOrder {
  name: string;
  /** The order key (the name it was released with); absent from an addon before order keys. */
  key?: string;
  state: ProductionOrder["state"];
  product: Product;
  uom: string;
  quantity_planned: number;
  quantity_produced: number;
  quantity_producing: number;
  quantity_scrapped: number;
  planned_start: string | null;
  planned_end: string | null;
  deadline: string | null;
  origin: string | null;
  on_hold: boolean;
}

interface OdooQuality {
  id: number;
  test: string;
  result: QualityResult["result"];
  value: string | null;
  occurred_at: string | null;
  order: string | null;
  lot: string | null;
  product: string | null;
  hold: boolean;
  hold_state: QualityResult["holdState"];
  released_at: string | null;
}

interface OdooOrderDetails {
  name: string;
  components: Array<{
    product: Product;
    uom: string;
    quantity_planned: number;
    quantity_reserved: number;
    quantity_consumed: number;
    state: string;
    lots: Array<{ lot: string; quantity: number }>;
  }>;
  work_orders: Array<{
    name: string;
    workcenter: string;
    state: WorkOrder["state"];
    sequence: number;
    planned_start: string | null;
    planned_end: string | null;
    started_at: string | null;
    finished_at: string | null;
    duration_expected: number;
    duration: number;
    quantity_produced: number;
  }>;
  finished_lots: string[];
  quality: OdooQuality[];
}

interface OdooRecord {
  id: number;
  kind: ComplianceRecord["kind"];
  title: string;
  occurred_at: string | null;
  lot: string | null;
  product: string | null;
  order: string | null;
  delivery: string | null;
  customer: string | null;
  sha256: string;
  uri: string | null;
  media_type: string | null;
  size: number | null;
}

function recordOf(r: OdooRecord): ComplianceRecord {
  return {
    id: String(r.id),
    kind: r.kind,
    title: r.title,
    occurredAt: r.occurred_at,
    lot: r.lot,
    product: r.product,
    order: r.order,
    delivery: r.delivery,
    customer: r.customer,
    sha256: r.sha256,
    uri: r.uri,
    mediaType: r.media_type,
    size: r.size,
  };
}

interface OdooDowntime {
  workcenter: string;
  reason: string;
  loss_type: Downtime["lossType"];
  start: string;
  end: string | null;
  duration: number;
  description: string | null;
}

interface OdooWorkCenter {
  key: string;
  name: string;
  code: string | null;
  status: WorkCenter["status"];
  status_since: string | null;
  status_at: string | null;
  counters: unknown;
  working_state: WorkCenter["workingState"];
  current_downtime: OdooDowntime | null;
  equipment: string[];
  oee_target: number | null;
}

interface OdooLot {
  name: string;
  product: Product;
  on_hold: boolean;
  produced_by: string[];
  components: Array<{ order: string; lot: string; product: Product; quantity: number }>;
  used_in: Array<{
    kind: "production" | "delivery" | "scrap" | "unbuild";
    reference: string;
    quantity: number;
    date: string | null;
    lots: string[];
  }>;
  quality: OdooQuality[];
  /** Absent from an Odoo whose addon predates compliance records. */
  records?: OdooRecord[];
  /** Absent from an Odoo whose addon predates nonconformances. */
  nonconformances?: OdooNonconformance[];
}

interface OdooNonconformance {
  id: number;
  defect: string;
  disposition: Nonconformance["disposition"];
  quantity: number;
  occurred_at: string | null;
  order: string | null;
  lot: string | null;
  product: string | null;
  approved_by: string | null;
  quality_result: number | null;
  reference: string | null;
}

interface OdooMaintenance {
  id: number;
  name: string;
  kind: "corrective" | "preventive";
  stage: string | null;
  done: boolean;
  workcenter: string | null;
  equipment: string | null;
  requested_at: string | null;
  scheduled_at: string | null;
  description: string | null;
}

function orderOf(site: string, o: OdooOrder): ProductionOrder {
  return {
    site,
    name: o.name,
    orderKey: o.key ?? o.name,
    state: o.state,
    product: o.product,
    uom: o.uom,
    quantity: {
      planned: o.quantity_planned,
      producing: o.quantity_producing,
      produced: o.quantity_produced,
      scrapped: o.quantity_scrapped,
    },
    plannedStart: o.planned_start,
    plannedEnd: o.planned_end,
    deadline: o.deadline,
    origin: o.origin,
    onHold: o.on_hold,
  };
}

function qualityOf(q: OdooQuality): QualityResult {
  return {
    id: String(q.id),
    test: q.test,
    result: q.result,
    value: q.value,
    occurredAt: q.occurred_at,
    order: q.order,
    lot: q.lot,
    product: q.product,
    hold: q.hold,
    holdState: q.hold_state,
    releasedAt: q.released_at,
  };
}

function detailsOf(site: string, d: OdooOrderDetails): OrderDetails {
  return {
    name: d.name,
    components: d.components.map((c): Component => ({
      site,
      product: c.product,
      uom: c.uom,
      quantityPlanned: c.quantity_planned,
      quantityReserved: c.quantity_reserved,
      quantityConsumed: c.quantity_consumed,
      state: c.state,
      lots: c.lots.map((l) => ({ site, name: l.lot, quantity: l.quantity })),
    })),
    workOrders: d.work_orders.map((w): WorkOrder => ({
      site,
      operation: w.name,
      workCenterKey: w.workcenter,
      state: w.state,
      sequence: w.sequence,
      plannedStart: w.planned_start,
      plannedEnd: w.planned_end,
      startedAt: w.started_at,
      finishedAt: w.finished_at,
      expectedMinutes: w.duration_expected,
      actualMinutes: w.duration,
      quantityProduced: w.quantity_produced,
    })),
    finishedLots: d.finished_lots,
    qualityResults: d.quality.map(qualityOf),
  };
}

function workCenterOf(site: string, w: OdooWorkCenter): WorkCenter {
  const d = w.current_downtime;
  return {
    site,
    key: w.key,
    name: w.name,
    code: w.code,
    status: w.status,
    statusSince: w.status_since,
    statusAt: w.status_at,
    counters: w.counters,
    workingState: w.working_state,
    currentDowntime: d && {
      workCenter: d.workcenter,
      reason: d.reason,
      lossType: d.loss_type,
      start: d.start,
      end: d.end,
      durationMinutes: d.duration,
      description: d.description,
    },
    equipment: w.equipment,
    oeeTarget: w.oee_target,
  };
}

function lotOf(site: string, l: OdooLot): Lot {
  return {
    site,
    name: l.name,
    product: l.product,
    onHold: l.on_hold,
    producedBy: l.produced_by,
    components: l.components.map((c) => ({
      site,
      order: c.order,
      product: c.product,
      lotName: c.lot,
      quantity: c.quantity,
    })),
    usedIn: l.used_in.map((u) => ({
      site,
      kind: u.kind,
      reference: u.reference,
      quantity: u.quantity,
      date: u.date,
      producedLots: u.lots,
    })),
    qualityResults: l.quality.map(qualityOf),
    records: (l.records ?? []).map(recordOf),
    nonconformances: (l.nonconformances ?? []).map((n): Nonconformance => ({
      id: String(n.id),
      defect: n.defect,
      disposition: n.disposition,
      quantity: n.quantity,
      occurredAt: n.occurred_at,
      order: n.order,
      lot: n.lot,
      product: n.product,
      approvedBy: n.approved_by,
      qualityResult: n.quality_result === null ? null : String(n.quality_result),
      reference: n.reference,
    })),
  };
}
