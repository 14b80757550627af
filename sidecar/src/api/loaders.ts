import DataLoader from "dataloader";
import type { Lot, OeeMinutes, OrderDetails, ProductionOrder, WorkCenter } from "./model.js";
import type { OdooReader } from "./odoo-reader.js";

/** A key of a per-site loader. */
export interface SiteKey {
  site: string;
  key: string;
}

/**
 * The request's DataLoaders: every `components` / `workOrders` / `workCenter` / `lot` field
 * resolved in one tick of one request becomes one Odoo call per kind (per site), whatever the
 * page size — no N+1.
 */
export interface Loaders {
  order: DataLoader<SiteKey, ProductionOrder | null, string>;
  orderDetails: DataLoader<SiteKey, OrderDetails | null, string>;
  workCenter: DataLoader<SiteKey, WorkCenter | null, string>;
  lot: DataLoader<SiteKey, Lot | null, string>;
  oee: DataLoader<SiteKey & { from: string; to: string }, OeeMinutes | null, string>;
}

export function createLoaders(reader: OdooReader): Loaders {
  return {
    order: siteLoader((site, keys) => reader.ordersByName(site, keys)),
    orderDetails: siteLoader((site, keys) => reader.orderDetailsByName(site, keys)),
    workCenter: siteLoader((site, keys) => reader.workCentersByKey(site, keys)),
    lot: siteLoader((site, keys) => reader.lotsByName(site, keys)),
    oee: new DataLoader(
      async (keys: readonly (SiteKey & { from: string; to: string })[]) => {
        const groups = groupBy(keys, (k) => JSON.stringify([k.site, k.from, k.to]));
        const answers = new Map<string, Map<string, OeeMinutes>>();
        await Promise.all(
          [...groups].map(async ([g, ks]) => {
            const { site, from, to } = ks[0]!;
            answers.set(
              g,
              await reader.oee(
                site,
                ks.map((k) => k.key),
                from,
                to,
              ),
            );
          }),
        );
        return keys.map(
          (k) => answers.get(JSON.stringify([k.site, k.from, k.to]))?.get(k.key) ?? null,
        );
      },
      { cacheKeyFn: (k) => JSON.stringify([k.site, k.key, k.from, k.to]) },
    ),
  };
}

function siteLoader<V>(
  load: (site: string, keys: string[]) => Promise<Map<string, V>>,
): DataLoader<SiteKey, V | null, string> {
  return new DataLoader(
    async (keys: readonly SiteKey[]) => {
      const bySite = groupBy(keys, (k) => k.site);
      const answers = new Map<string, Map<string, V>>();
      await Promise.all(
        [...bySite].map(async ([site, ks]) =>
          answers.set(site, await load(site, [...new Set(ks.map((k) => k.key))])),
        ),
      );
      return keys.map((k) => answers.get(k.site)?.get(k.key) ?? null);
    },
    { cacheKeyFn: (k) => `${k.site}\u0000${k.key}`, maxBatchSize: 500 },
  );
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
