/**
 * What the simulated plant consumes of a released order's components, unit by unit, and from
 * which lot: a plant scans the lot or serial it takes, so a tracked component is consumed from
 * the stock Odoo set aside for the order (`reserved`, else the lots of its move lines) — each
 * unit its own serial, a lot until its reserved quantity is used, then the next one, and the
 * last one beyond its reservation (Odoo lets a plant consume more of a lot than it reserved).
 * A tracked component with nothing left to take cannot be consumed (Odoo refuses a tracked
 * consumption without lot, `unknown_lot`): its order waits, as a plant waits for its material.
 * Pure decisions, no I/O.
 */

export type Tracking = "none" | "lot" | "serial";

export interface SimComponent {
  product: string;
  /** Quantity per unit produced, in the component's unit. */
  perUnit: number;
  /** The release's `tracking` of the component; without it, tracked when it names lots. */
  tracking: Tracking;
  /** The lots to consume from, in order, with the quantity left of each (Infinity: not known). */
  pool: Array<{ lot: string; left: number }>;
}

/** What one unit takes of a component: a lot (none when untracked) and a quantity. */
export interface Take {
  quantity: number;
  lot?: string;
}

const EPSILON = 1e-9;
const round = (n: number) => Math.round(n * 1e6) / 1e6;
const key = (product: string, lot: string) => `${product}\u0000${lot}`;

/**
 * The components of a release with their quantity per unit and the lots to consume them from,
 * less what the plant already consumed of each lot on this order (`consumed`, by `usedKey`).
 */
export function componentsOf(
  command: Record<string, unknown>,
  quantity: number,
  consumed: ReadonlyMap<string, number> = new Map(),
): SimComponent[] {
  const components = Array.isArray(command.components) ? (command.components as unknown[]) : [];
  return components.flatMap((c) => {
    const { product, quantity: q, lots, reserved, tracking } = (c ?? {}) as Record<string, unknown>;
    const perUnit = round(Number(q) / quantity);
    if (typeof product !== "string" || !(perUnit > 0)) return [];
    const left = new Map<string, number>();
    for (const r of Array.isArray(reserved) ? (reserved as unknown[]) : []) {
      const { lot, quantity: reservedQty } = (r ?? {}) as Record<string, unknown>;
      if (typeof lot === "string") left.set(lot, (left.get(lot) ?? 0) + (Number(reservedQty) || 0));
    }
    if (left.size === 0)
      for (const lot of Array.isArray(lots) ? (lots as unknown[]) : [])
        if (typeof lot === "string") left.set(lot, Infinity);
    const pool = [...left].map(([lot, n]) => ({
      lot,
      left: Math.max(0, n - (consumed.get(key(product, lot)) ?? 0)),
    }));
    const known = tracking === "none" || tracking === "lot" || tracking === "serial";
    return [
      {
        product,
        perUnit,
        tracking: known ? tracking : pool.length > 0 ? "lot" : "none",
        pool,
      },
    ];
  });
}

/** The key `componentsOf` reads the quantity already consumed of a component's lot under. */
export const usedKey = key;

/** Whether one more unit can take its quantity of the component (tracked: a lot or serial left). */
export function canSupply(c: SimComponent): boolean {
  if (c.tracking === "none") return true;
  if (c.tracking === "serial") return c.pool.filter((p) => p.left >= 1).length >= c.perUnit;
  return c.pool.length > 0;
}

/**
 * What one unit takes of the component, and the pool left after it; [] when `canSupply` says
 * it cannot (call that first).
 */
export function takeForUnit(c: SimComponent): Take[] {
  if (c.tracking === "none") return [{ quantity: c.perUnit }];
  if (!canSupply(c)) return [];
  if (c.tracking === "serial") {
    const out: Take[] = [];
    for (const serial of c.pool) {
      if (out.length >= c.perUnit) break;
      if (serial.left < 1) continue;
      serial.left = 0;
      out.push({ quantity: 1, lot: serial.lot });
    }
    return out;
  }
  const out: Take[] = [];
  let need = c.perUnit;
  for (const entry of c.pool) {
    if (need <= EPSILON) break;
    const take = round(Math.min(entry.left, need));
    if (take <= EPSILON) continue;
    entry.left = round(entry.left - take);
    need = round(need - take);
    out.push({ quantity: take, lot: entry.lot });
  }
  if (need > EPSILON) {
    // beyond what was set aside: more of the last lot
    const last = c.pool[c.pool.length - 1]!;
    const same = out.find((t) => t.lot === last.lot);
    if (same) same.quantity = round(same.quantity + need);
    else out.push({ quantity: need, lot: last.lot });
  }
  return out;
}
