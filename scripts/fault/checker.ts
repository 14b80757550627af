/**
 * Counts, in the store itself (the inbox/outbox rows and the dead letters, through the Store
 * API), what arrived of what was sent: missing ids, ids stored more than once, the redeliveries
 * the inbox absorbed, and dead letters by code.
 */
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { eventId } from "./publisher.js";

export interface StoreCheck {
  /** Distinct events expected (what the publishers sent). */
  sent: number;
  /** Rows of the site in the store. */
  kept: number;
  missing: number;
  /** Ids with more than one row (the inbox's unique key should make this 0). */
  duplicated: number;
  /** Copies the inbox recognised and counted on the original row (`duplicates`). */
  redeliveries: number;
  /** Rows whose id is not one the publishers sent. */
  unexpected: number;
  deadLetters: Record<string, number>;
  /** Dead letters counting their repeats (the same input arriving again). */
  deadLetterArrivals: number;
  /** The first missing ids, to look them up. */
  missingSample: string[];
  /** Missing ids as runs of consecutive sequences: `pub1-000775..001530`. */
  missingRanges: string[];
}

/** The ids publishers `<prefix>0..` sent: `sources` maps a source name to its count. */
export function expectedIds(sources: Record<string, number>): Set<string> {
  const ids = new Set<string>();
  for (const [source, n] of Object.entries(sources)) {
    for (let seq = 0; seq < n; seq++) ids.add(eventId(source, seq));
  }
  return ids;
}

export async function checkStore(
  location: string,
  site: string,
  expected: Set<string>,
): Promise<StoreCheck> {
  const store = await openStore(location);
  try {
    return await check(store, site, expected);
  } finally {
    await store.close();
  }
}

export async function check(
  store: Store,
  site: string,
  expected: Set<string>,
): Promise<StoreCheck> {
  const rows = new Map<string, number>();
  let redeliveries = 0;
  let before: number | undefined;
  for (let page = 0; page < 10_000; page++) {
    const batch = await store.listMessages({
      site,
      limit: 1000,
      ...(before !== undefined && { beforeSeq: before }),
    });
    if (batch.length === 0) break;
    for (const m of batch) {
      rows.set(m.eventId, (rows.get(m.eventId) ?? 0) + 1);
      redeliveries += m.duplicates;
    }
    before = batch[batch.length - 1]!.seq;
  }
  const deadLetters: Record<string, number> = {};
  let deadLetterArrivals = 0;
  let beforeId: number | undefined;
  for (let page = 0; page < 10_000; page++) {
    const batch = await store.listDeadLetters({
      site,
      limit: 1000,
      ...(beforeId !== undefined && { beforeId }),
    });
    if (batch.length === 0) break;
    for (const d of batch) {
      deadLetters[d.code] = (deadLetters[d.code] ?? 0) + 1;
      deadLetterArrivals += 1 + d.repeats;
    }
    beforeId = batch[batch.length - 1]!.id;
  }
  const missing = [...expected].filter((id) => !rows.has(id));
  let kept = 0;
  let duplicated = 0;
  let unexpected = 0;
  for (const [id, n] of rows) {
    kept += n;
    if (n > 1) duplicated++;
    if (!expected.has(id)) unexpected++;
  }
  return {
    sent: expected.size,
    kept,
    missing: missing.length,
    duplicated,
    redeliveries,
    unexpected,
    deadLetters,
    deadLetterArrivals,
    missingSample: missing.slice(0, 20),
    missingRanges: ranges(missing),
  };
}

/** Compresses sorted `<source>-<seq>` ids into runs: `pub1-000775..001530`. */
export function ranges(ids: string[]): string[] {
  const out: string[] = [];
  let first: string | undefined;
  let prev: { source: string; seq: number } | undefined;
  const close = (last: string | undefined) => {
    if (first !== undefined)
      out.push(last && last !== first ? `${first}..${last.slice(-6)}` : first);
  };
  let last: string | undefined;
  for (const id of [...ids].sort()) {
    const m = /^(.*)-(\d+)$/.exec(id);
    const cur = m ? { source: m[1]!, seq: Number(m[2]) } : undefined;
    const follows = cur && prev && cur.source === prev.source && cur.seq === prev.seq + 1;
    if (!follows) {
      close(last);
      first = id;
    }
    last = id;
    prev = cur;
  }
  close(last);
  return out.slice(0, 50);
}
